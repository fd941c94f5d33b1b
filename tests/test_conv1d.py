"""Conv1D: forward against a plain loop, causal padding, dilation, gradients against finite differences, errors.

Keras 3's own values (and the signature) are checked with Conv2D's in test_conv2d.py.
"""

from __future__ import annotations

import numpy as np
import pytest
from _layer_checks import built, check_gradients, check_skips_input_grad

from minikeras_core import Sequential, get


def reference_conv1d(X, kernel, bias, stride, dilation, before, after):
    """A plain loop over output steps, ``before`` and ``after`` zeros around the sequence."""
    Xp = np.pad(X, ((0, 0), (before, after), (0, 0)))
    k, _, filters = kernel.shape
    span = (k - 1) * dilation + 1
    out = (Xp.shape[1] - span) // stride + 1
    Z = np.zeros((len(X), out, filters))
    for t in range(out):
        window = Xp[:, t * stride : t * stride + span : dilation, :]  # (n, k, c)
        Z[:, t, :] = np.einsum("nkc,kcf->nf", window, kernel) + bias
    return Z


# (steps, channels, kernel, stride, dilation, padding, expected (before, after))
CASES = [
    (7, 2, 3, 1, 1, "valid", (0, 0)),
    (7, 3, 2, 2, 1, "same", (0, 1)),  # out = ceil(7 / 2) = 4, padding (3 * 2 + 2 - 7) = 1 after
    (8, 2, 3, 1, 2, "causal", (4, 0)),  # (k - 1) d zeros before, none after
    (9, 3, 4, 1, 2, "same", (3, 3)),  # the window spans 7 steps
    (8, 2, 2, 1, 3, "same", (1, 2)),  # spans 4: the odd padding at the end
    (7, 9, 3, 2, 1, "causal", (2, 0)),  # 8 channels or more: patches copied from a strided view
    (8, 8, 2, 1, 3, "valid", (0, 0)),
    (5, 1, 5, 1, 1, "same", (2, 2)),
]


@pytest.mark.parametrize("steps, channels, kernel, stride, dilation, padding, pads", CASES)
def test_forward_matches_a_plain_loop_and_gradients_match_finite_differences(steps, channels, kernel, stride, dilation,
                                                                              padding, pads) -> None:
    rng = np.random.default_rng(0)
    layer = built("conv1d", (steps, channels), filters=3, kernel_size=kernel, strides=stride, dilation_rate=dilation,
                  padding=padding)
    layer.params["bias"][...] = rng.standard_normal(3)
    X = rng.standard_normal((3, steps, channels))
    expected = reference_conv1d(X, layer.params["kernel"], layer.params["bias"], stride, dilation, *pads)
    assert layer.params["kernel"].shape == (kernel, channels, 3)  # Keras's layout
    assert layer.output_shape == expected.shape[1:]
    np.testing.assert_allclose(layer.forward(X), expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(layer.forward(X, training=True), expected, rtol=1e-12, atol=1e-12)
    if padding in ("same", "causal"):
        assert layer.output_shape[0] == -(-steps // stride)
    check_gradients(layer, X[:2])


@pytest.mark.parametrize("channels", [2, 9])
def test_causal_output_sees_no_later_step(channels) -> None:
    layer = built("conv1d", (10, channels), filters=2, kernel_size=3, dilation_rate=2, padding="causal")
    X = np.random.default_rng(1).standard_normal((2, 10, channels))
    Y = layer.forward(X)
    later = X.copy()
    later[:, 6:] = 100.0
    np.testing.assert_array_equal(layer.forward(later)[:, :6], Y[:, :6])
    assert not np.allclose(layer.forward(later)[:, 6:], Y[:, 6:])


@pytest.mark.parametrize("channels", [2, 8])
def test_first_layer_may_skip_the_input_gradient_and_prediction_in_blocks_is_one_pass(channels) -> None:
    layer = built("conv1d", (9, channels), filters=3, kernel_size=3, padding="same", activation="relu")
    X = np.random.default_rng(2).standard_normal((2, 9, channels))
    check_skips_input_grad(layer, X)
    many = np.random.default_rng(3).standard_normal((layer.block_samples + 3, 9, channels))
    np.testing.assert_allclose(layer.forward(many), layer.forward(many, training=True), rtol=1e-12, atol=1e-12)


def test_float32_stays_float32_and_a_mask_stops_here() -> None:
    layer = built("conv1d", (6, 2), dtype="float32", filters=2, kernel_size=2, padding="same")
    X = np.random.default_rng(4).standard_normal((2, 6, 2)).astype(np.float32)
    Z = layer.forward(X, training=True)
    assert Z.dtype == layer.backward(np.ones_like(Z)).dtype == layer.grads["kernel"].dtype == np.float32
    assert layer.compute_mask(X, np.ones((2, 6), dtype=bool)) is None  # Keras's Conv1D does not carry masks


@pytest.mark.parametrize("kwargs, message", [
    ({"padding": 1}, "padding must be 'valid' or 'same' or 'causal'"),
    ({"padding": "full"}, "padding must be"),
    ({"kernel_size": (2, 2)}, "kernel_size must be a positive int or a tuple of 1"),
    ({"strides": 2, "dilation_rate": 2}, "do not go together"),
    ({"groups": 2}, "groups=2 is not supported"),
    ({"data_format": "channels_first"}, "data_format"),
    ({"filters": 0}, "filters"),
])
def test_bad_arguments_raise_value_error_naming_them(kwargs, message) -> None:
    with pytest.raises(ValueError, match="Conv1D.*" + message):
        get("layer", "Conv1D", **{"filters": 2, "kernel_size": 3, **kwargs})


def test_the_original_keywords_are_not_conv1ds() -> None:
    with pytest.raises(TypeError, match="ksize"):
        get("layer", "conv1d", filters=2, kernel_size=3, ksize=3)


def test_conv1d_after_images_or_on_too_short_a_sequence_fails_at_add_naming_the_layer() -> None:
    with pytest.raises(ValueError, match=r"Conv1D layer .*sequences of shape \(steps, channels\).*\(4, 4, 1\)"):
        Sequential().add("conv1d", filters=2, kernel_size=2, input_size=(4, 4, 1))
    with pytest.raises(ValueError, match=r"Conv1D layer .*a 3 window dilated by 2 .* input of 4"):
        Sequential().add("conv1d", filters=2, kernel_size=3, dilation_rate=2, input_size=(4, 1))
