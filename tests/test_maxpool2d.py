"""MaxPool2D (Keras's MaxPooling2D): forward and gradient routing against a plain loop, finite differences, ties,
both call forms, errors. Keras's own values are in test_pooling.py."""

from __future__ import annotations

import numpy as np
import pytest
from _layer_checks import built, check_gradients, check_skips_input_grad

from minikeras_core import Sequential, get
from minikeras_core.registry import REGISTRY


def reference_pool(X, ksize, stride, pads, fill, G=None):
    """Plain loops: the pooled output, and (given ``G``) dL/dX sending each output's gradient to the
    first maximum of its window in row-major order."""
    top, bottom, left, right = pads
    Xp = np.pad(X, ((0, 0), (top, bottom), (left, right), (0, 0)), constant_values=fill)
    (kh, kw), (sh, sw) = ksize, stride
    out_h, out_w = (Xp.shape[1] - kh) // sh + 1, (Xp.shape[2] - kw) // sw + 1
    Y = np.zeros((len(X), out_h, out_w, X.shape[3]))
    dXp = np.zeros_like(Xp)
    for b in range(len(X)):
        for y in range(out_h):
            for x in range(out_w):
                for c in range(X.shape[3]):
                    window = Xp[b, y * sh : y * sh + kh, x * sw : x * sw + kw, c]
                    first = int(np.argmax(window.ravel()))  # argmax returns the first of equal maxima
                    Y[b, y, x, c] = window.ravel()[first]
                    if G is not None:
                        dXp[b, y * sh + first // kw, x * sw + first % kw, c] += G[b, y, x, c]
    dX = dXp[:, top : Xp.shape[1] - bottom, left : Xp.shape[2] - right, :]
    return Y, dX


# (input (h, w, c), ksize, stride, padding, expected pads, fill of the padding)
CASES = [
    ((4, 6, 2), 2, None, 0, (0, 0, 0, 0), 0.0),  # tiles the input exactly
    ((5, 7, 2), 2, 2, "valid", (0, 0, 0, 0), 0.0),  # tiles, with a last row and column left out
    ((6, 6, 1), (3, 2), (3, 2), 0, (0, 0, 0, 0), 0.0),
    ((5, 6, 2), 2, 1, 0, (0, 0, 0, 0), 0.0),  # overlapping, as in the original example
    ((6, 5, 3), 3, 1, "valid", (0, 0, 0, 0), 0.0),
    ((5, 6, 2), 3, 2, "valid", (0, 0, 0, 0), 0.0),
    ((5, 6, 3), (3, 2), 2, "same", (1, 1, 0, 0), -np.inf),
    ((6, 6, 1), 2, 2, "same", (0, 0, 0, 0), -np.inf),
    ((5, 5, 2), 2, 2, "same", (0, 1, 0, 1), -np.inf),  # the odd padding goes to the bottom / right
    ((5, 5, 1), 3, (2, 1), 1, (1, 1, 1, 1), 0.0),  # int padding: zeros on every side
    ((4, 4, 1), 2, 2, (1, 0), (1, 1, 0, 0), 0.0),
    ((7, 8, 2), 2, 3, "valid", (0, 0, 0, 0), 0.0),  # gaps between windows: those inputs get no gradient
    ((5, 5, 2), 1, 2, 0, (0, 0, 0, 0), 0.0),  # a 1x1 window: one offset, every output its own input
]


def _layer(shape, ksize, stride, padding):
    return built("maxpool2d", shape, ksize=ksize, stride=stride, padding=padding)


def _pair(value, default):
    value = default if value is None else value
    return (value, value) if isinstance(value, int) else value


@pytest.mark.parametrize("shape, ksize, stride, padding, pads, fill", CASES)
def test_forward_and_backward_match_a_plain_loop(shape, ksize, stride, padding, pads, fill) -> None:
    rng = np.random.default_rng(0)
    layer = _layer(shape, ksize, stride, padding)
    # small integers: many ties, which must follow the first-maximum rule
    for X in (rng.standard_normal((3,) + shape), rng.integers(-2, 3, (3,) + shape).astype(float)):
        Y = layer.forward(X, training=True)
        G = rng.standard_normal(Y.shape)
        expected_Y, expected_dX = reference_pool(X, _pair(ksize, 0), _pair(stride, _pair(ksize, 0)), pads, fill, G)
        assert Y.shape[1:] == layer.output_shape
        np.testing.assert_array_equal(Y, expected_Y)
        np.testing.assert_array_equal(layer.forward(X), expected_Y)  # the inference path too
        np.testing.assert_allclose(layer.backward(G), expected_dX, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("shape, ksize, stride, padding, pads, fill", CASES)
def test_gradients_match_finite_differences(shape, ksize, stride, padding, pads, fill) -> None:
    layer = _layer(shape, ksize, stride, padding)
    X = np.random.default_rng(1).standard_normal((2,) + shape)  # distinct values: no ties
    check_gradients(layer, X)


def test_overlapping_windows_add_their_gradients() -> None:
    layer = _layer((3, 3, 1), 2, 1, 0)
    X = np.array([[1.0, 2, 0], [3, 9, 4], [0, 5, 1]]).reshape(1, 3, 3, 1)
    Y = layer.forward(X, training=True)
    np.testing.assert_array_equal(Y[0, :, :, 0], [[9, 9], [9, 9]])
    dX = layer.backward(np.array([1.0, 2, 3, 4]).reshape(1, 2, 2, 1))
    expected = np.zeros((3, 3))
    expected[1, 1] = 1 + 2 + 3 + 4  # the centre wins all four windows
    np.testing.assert_array_equal(dX[0, :, :, 0], expected)


def test_a_tie_sends_the_gradient_to_the_first_maximum_in_row_major_order() -> None:
    tiled = _layer((2, 2, 1), 2, 2, 0)
    X = np.array([[1.0, 5], [5, 2]]).reshape(1, 2, 2, 1)
    tiled.forward(X, training=True)
    np.testing.assert_array_equal(tiled.backward(np.ones((1, 1, 1, 1)))[0, :, :, 0], [[0, 1], [0, 0]])
    overlapping = _layer((3, 3, 1), 2, 1, 0)
    overlapping.forward(np.zeros((1, 3, 3, 1)), training=True)
    # every window is a tie: each sends its gradient to its own top-left input
    np.testing.assert_array_equal(
        overlapping.backward(np.ones((1, 2, 2, 1)))[0, :, :, 0], [[1, 1, 0], [1, 1, 0], [0, 0, 0]]
    )


@pytest.mark.parametrize("ksize, dtype", [(2, np.uint8), (16, np.uint8), (17, np.uint16)])
def test_training_keeps_one_small_winner_index_per_output(ksize, dtype) -> None:
    layer = _layer((ksize + 1, ksize, 2), ksize, 1, 0)
    X = np.random.default_rng(4).standard_normal((2, ksize + 1, ksize, 2))
    Y = layer.forward(X, training=True)
    kept = [v for v in vars(layer).values() if isinstance(v, np.ndarray) and v.shape == Y.shape]
    assert [a.dtype for a in kept] == [dtype]  # ksize**2 offsets: uint8 up to 256 of them
    _, expected_dX = reference_pool(X, (ksize, ksize), (1, 1), (0, 0, 0, 0), 0.0, np.ones(Y.shape))
    np.testing.assert_array_equal(layer.backward(np.ones(Y.shape)), expected_dX)


def test_same_padding_never_wins_but_int_padding_is_zeros() -> None:
    X = -1.0 - np.random.default_rng(2).random((1, 3, 3, 1))
    assert (_layer((3, 3, 1), 2, 2, "same").forward(X) < 0).all()
    Y = _layer((3, 3, 1), 2, 2, 1).forward(X)[0, :, :, 0]
    # padded to 5x5: three windows meet a zero of the padding, the last lies inside X
    np.testing.assert_array_equal(Y, [[0, 0], [0, X[0, 1:3, 1:3, 0].max()]])


def test_first_layer_may_skip_the_input_gradient() -> None:
    layer = _layer((4, 4, 1), 2, 1, 0)
    check_skips_input_grad(layer, np.random.default_rng(8).standard_normal((2, 4, 4, 1)))


def test_stride_defaults_to_ksize_and_the_aliases_resolve() -> None:
    assert get("layer", "maxpool2d", ksize=3).strides == (3, 3)
    assert get("layer", "max_pooling2d", pool_size=(3, 2)).strides == (3, 2)
    for name in ("max_pooling2d", "MaxPooling2D", "max_pool2d", "MaxPool2D"):
        assert REGISTRY.resolve("layer", name) is REGISTRY.resolve("layer", "maxpool2d")
    from minikeras_core.layers import MaxPool2D, MaxPooling2D

    assert MaxPooling2D is MaxPool2D and MaxPooling2D.__name__ == "MaxPool2D"
    assert _layer((8, 8, 1), 2, None, 0).output_shape == (4, 4, 1)


def test_kerass_and_the_original_form_read_as_meant() -> None:
    from minikeras_core.layers import MaxPooling2D

    assert (MaxPooling2D().pool_size, MaxPooling2D().strides, MaxPooling2D().padding) == ((2, 2), (2, 2), "valid")
    keras = MaxPooling2D((3, 2), 1, "same")
    assert (keras.pool_size, keras.strides, keras.padding) == ((3, 2), (1, 1), "same")
    original = MaxPooling2D(ksize=(3, 2), stride=1, padding="same")
    assert original.get_config() == keras.get_config()  # saved in Keras's form, whichever built it
    seed = MaxPooling2D(ksize=2, stride=1, padding=0)
    assert (seed.pool_size, seed.strides, seed.padding) == ((2, 2), (1, 1), (0, 0))
    old = {"ksize": 2, "stride": 1, "padding": 0, "input_size": None, "name": None, "dtype": None}  # saved before
    loaded = get("layer", {"class_name": "maxpool2d", "config": old})
    assert (loaded.pool_size, loaded.strides, loaded.padding) == ((2, 2), (1, 1), (0, 0))


@pytest.mark.parametrize("args, kwargs, match", [
    ((2,), {"stride": 1}, r"original form's stride=.*positional arguments 2"),
    ((), {"ksize": 2, "pool_size": 2}, r"original form's ksize=.*Keras's pool_size="),
    ((), {"stride": 1, "strides": 1}, r"original form's stride=.*Keras's strides="),
])
def test_a_call_mixing_the_forms_is_a_type_error_naming_both(args, kwargs, match) -> None:
    with pytest.raises(TypeError, match=match) as error:
        REGISTRY.resolve("layer", "MaxPooling2D")(*args, **kwargs)
    assert "Keras's MaxPooling2D(pool_size=(2, 2)" in str(error.value) and "MaxPool2D(ksize=2" in str(error.value)


def test_float32_stays_float32_and_there_are_no_weights() -> None:
    for stride in (2, 1):
        layer = built("maxpool2d", (4, 4, 2), dtype="float32", ksize=2, stride=stride)
        X = np.random.default_rng(3).standard_normal((2, 4, 4, 2)).astype(np.float32)
        Y = layer.forward(X, training=True)
        assert Y.dtype == layer.backward(np.ones_like(Y)).dtype == np.float32
        assert layer.count_params() == 0 and layer.params == {}


@pytest.mark.parametrize(
    "kwargs",
    [{"ksize": 0}, {"ksize": (2, -1)}, {"ksize": 2, "stride": 0}, {"ksize": 2, "padding": "full"}, {"ksize": "2"},
     {"pool_size": 0}, {"strides": (1, 2, 3)}, {"padding": "causal"}, {"data_format": "channels_first"}],
)
def test_bad_arguments_raise_value_error_naming_them(kwargs) -> None:
    with pytest.raises(ValueError, match="MaxPool2D"):
        get("layer", "maxpool2d", **kwargs)


def test_pooling_a_flat_output_or_too_small_an_input_fails_at_add() -> None:
    model = Sequential()
    model.add("dense", units=4, input_size=(6,))
    with pytest.raises(ValueError, match=r"MaxPool2D layer 'max_pool2d'.*\(4,\)"):
        model.add("maxpool2d", ksize=2)
    with pytest.raises(ValueError, match="MaxPool2D layer"):
        Sequential().add("maxpool2d", ksize=3, input_size=(2, 8, 1))


def test_flatten_follows_pooling() -> None:
    model = Sequential(seed=0)
    model.add("maxpool2d", ksize=2, stride=1, input_size=(5, 5, 2))
    assert model.add("flatten").output_shape == (4 * 4 * 2,)
