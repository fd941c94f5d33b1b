"""Conv2D: Keras 3's values and signature, the original form, forward against independent references,
gradients against finite differences, dilation, errors, digits."""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import numpy as np
import pytest
from _layer_checks import built, check_gradients, check_skips_input_grad
from scipy import signal

import minikeras_core as mk
from minikeras_core import Sequential, get, patches, spatial
from minikeras_core.datasets import load_digits
from minikeras_core.registry import REGISTRY

REFERENCE = json.loads((Path(__file__).parent / "data" / "keras" / "conv_pool_reference.json").read_text())


def reference_conv(X, kernel, bias, stride, padding, dilation=(1, 1)):
    """A plain loop over output positions; ``padding`` is (top, bottom, left, right) of zeros."""
    top, bottom, left, right = padding
    Xp = np.pad(X, ((0, 0), (top, bottom), (left, right), (0, 0)))
    kh, kw, _, filters = kernel.shape
    (sh, sw), (dh, dw) = stride, dilation
    out_h = (Xp.shape[1] - (kh - 1) * dh - 1) // sh + 1
    out_w = (Xp.shape[2] - (kw - 1) * dw - 1) // sw + 1
    Z = np.zeros((len(X), out_h, out_w, filters))
    for y in range(out_h):
        for x in range(out_w):
            patch = Xp[:, y * sh : y * sh + (kh - 1) * dh + 1 : dh, x * sw : x * sw + (kw - 1) * dw + 1 : dw, :]
            for f in range(filters):
                Z[:, y, x, f] = np.sum(patch * kernel[:, :, :, f], axis=(1, 2, 3)) + bias[f]
    return Z


def check_against_keras(case: dict) -> None:
    """Our layer with Keras's weights gives Keras's output, and the gradients torch's autograd gave for sum(R * Y)."""
    X = np.array(case["X"])
    layer = get("layer", case["layer"], **case["kwargs"]).build(X.shape[1:], dtype="float64")
    assert list(layer.params) == [name.split("/")[-1] for name in case["weight_names"]]  # Keras's order
    layer.set_weights([np.array(w) for w in case["weights"]])
    np.testing.assert_allclose(layer.forward(X), case["Y"], rtol=1e-12, atol=1e-12)
    Y = layer.forward(X, training=True)
    np.testing.assert_allclose(Y, case["Y"], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(layer.backward(np.array(case["R"])), case["dX"], rtol=1e-12, atol=1e-12)
    for name, expected in zip(layer.params, case["dweights"]):
        np.testing.assert_allclose(layer.grads[name], expected, rtol=1e-12, atol=1e-12, err_msg=name)


CONVOLUTIONS = [c for c in REFERENCE["cases"] if c["layer"] in ("Conv1D", "Conv2D")]


@pytest.mark.parametrize("case", CONVOLUTIONS, ids=lambda c: c["layer"] + "-" + "-".join(f"{k}={v}" for k, v in c["kwargs"].items()))
def test_outputs_and_gradients_equal_keras(case) -> None:
    check_against_keras(case)


@pytest.mark.parametrize("name", ["Conv2D", "Conv1D"])
def test_signature_is_kerass_in_order_with_its_defaults(name) -> None:
    cls = REGISTRY.resolve("layer", name)
    parameters = list(inspect.signature(cls.__init__).parameters.values())[1:]
    ours = [[p.name, "<required>" if p.default is p.empty else list(p.default) if isinstance(p.default, tuple) else p.default]
            for p in parameters[:-1]]
    keras = REFERENCE["signatures"][name]
    if name == "Conv2D":  # the original form names neither filters nor kernel_size: both default to None, and are checked
        keras = [[n, None if d == "<required>" else d] for n, d in keras]
    assert ours == keras
    assert parameters[-1].kind is inspect.Parameter.VAR_KEYWORD


def test_kerass_and_the_original_form_read_as_meant() -> None:
    from minikeras_core.layers import Conv2D

    keras = Conv2D(64, (3, 3))
    assert (keras.filters, keras.kernel_size, keras.strides, keras.padding) == (64, (3, 3), (1, 1), "valid")
    keras = Conv2D(16, 3, 2, "same", None, (1, 1), 1, "relu", False)
    assert (keras.filters, keras.kernel_size, keras.strides, keras.padding, keras.use_bias) == (16, (3, 3), (2, 2), "same", False)
    assert keras.activation is not None
    original = Conv2D(ksize=3, stride=2, filters=16, padding="same", activation="relu", use_bias=False)
    assert original.get_config() == keras.get_config()  # saved in Keras's form, whichever built it
    seed = Conv2D(ksize=(2, 3), padding=1)
    assert (seed.filters, seed.kernel_size, seed.strides, seed.padding) == (1, (2, 3), (1, 1), (1, 1))
    assert get("layer", "conv2d", filters=32, kernel_size=3).kernel_size == (3, 3)  # the bench's cnn_bn spelling


@pytest.mark.parametrize("args, kwargs, match", [
    ((16,), {"ksize": 3}, r"original form's ksize=.*positional arguments 16"),
    ((16, 3), {"stride": 1}, r"original form's stride=.*positional arguments 16, 3"),
    ((), {"ksize": 3, "kernel_size": 3, "filters": 2}, r"original form's ksize=.*Keras's kernel_size="),
    ((), {"ksize": 3, "strides": 2}, r"original form's ksize=.*Keras's strides="),
    ((), {"stride": 2, "filters": 4}, r"no ksize given"),
    ((16,), {}, r"no kernel_size given"),
    ((), {"kernel_size": 3}, r"no filters given"),
])
def test_a_call_mixing_the_forms_or_missing_a_size_is_a_type_error_naming_both_forms(args, kwargs, match) -> None:
    with pytest.raises(TypeError, match=match) as error:
        get("layer", "Conv2D", *args, **kwargs) if not args else REGISTRY.resolve("layer", "Conv2D")(*args, **kwargs)
    assert "Keras's Conv2D(filters, kernel_size" in str(error.value) and "Conv2D(ksize=" in str(error.value)


def test_a_config_saved_in_the_original_form_still_loads() -> None:
    """What a model saved before Conv2D took Keras's signature recorded: the original keywords."""
    old = {"ksize": 3, "stride": 2, "padding": 1, "activation": "relu", "filters": 4, "input_size": [6, 6, 1],
           "use_bias": True, "kernel_initializer": "glorot_uniform", "bias_initializer": "zeros", "name": "c", "dtype": None}
    layer = get("layer", {"class_name": "conv2d", "config": old})
    assert (layer.kernel_size, layer.strides, layer.padding, layer.filters, layer.input_size) == ((3, 3), (2, 2), (1, 1), 4, (6, 6, 1))


@pytest.mark.parametrize("kwargs, message", [
    ({"groups": 2}, "groups=2 is not supported"),
    ({"kernel_regularizer": "l2"}, "kernel_regularizer='l2' is not supported"),
    ({"bias_constraint": "non_neg"}, "bias_constraint='non_neg' is not supported"),
    ({"data_format": "channels_first"}, "data_format must be 'channels_last' or None"),
    ({"strides": 2, "dilation_rate": 2}, "strides above 1 and dilation above 1 do not go together"),
    ({"dilation_rate": 0}, "dilation_rate must be a positive int"),
    ({"padding": "causal"}, "padding must be 'valid' or 'same'"),
])
def test_what_keras_allows_but_this_layer_does_not_is_refused_by_name(kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        get("layer", "Conv2D", filters=2, kernel_size=3, **kwargs)


# (input (h, w, c), kernel, dilation, padding, expected (top, bottom, left, right))
DILATED = [
    ((7, 6, 2), 3, 2, "valid", (0, 0, 0, 0)),
    ((7, 6, 2), 3, 2, "same", (2, 2, 2, 2)),  # the window spans 5 inputs
    ((6, 5, 3), (2, 2), (3, 1), "same", (1, 2, 0, 1)),  # spans 4 and 2: odd paddings at the bottom/right
    ((6, 7, 9), (3, 2), (1, 2), "same", (1, 1, 1, 1)),  # 8 channels or more: patches copied from the dilated view
    ((5, 7, 1), 2, (2, 3), 1, (1, 1, 1, 1)),
]


@pytest.mark.parametrize("shape, kernel, dilation, padding, pads", DILATED)
def test_dilation_matches_a_plain_loop_and_finite_differences(shape, kernel, dilation, padding, pads) -> None:
    rng = np.random.default_rng(20)
    layer = built("conv2d", shape, filters=3, kernel_size=kernel, dilation_rate=dilation, padding=padding)
    layer.params["bias"][...] = rng.standard_normal(3)
    X = rng.standard_normal((2,) + shape)
    d = (dilation,) * 2 if isinstance(dilation, int) else dilation
    expected = reference_conv(X, layer.params["kernel"], layer.params["bias"], (1, 1), pads, d)
    np.testing.assert_allclose(layer.forward(X), expected, rtol=1e-12, atol=1e-12)
    if padding == "same":
        assert layer.output_shape[:2] == shape[:2]
    check_gradients(layer, X)


# (input (h, w, c), ksize, stride, padding argument, filters, expected (top, bottom, left, right))
CASES = [
    ((5, 6, 1), 3, 1, 0, 1, (0, 0, 0, 0)),
    ((5, 6, 3), (2, 3), 1, "valid", 4, (0, 0, 0, 0)),
    ((7, 6, 2), 3, 2, "valid", 2, (0, 0, 0, 0)),
    ((5, 6, 2), 3, 1, "same", 3, (1, 1, 1, 1)),
    # stride 2, "same": out = ceil(size / 2); the odd padding goes to the bottom / right
    ((6, 6, 2), 3, 2, "same", 2, (0, 1, 0, 1)),
    ((5, 7, 1), (2, 3), 2, "same", 2, (0, 1, 1, 1)),
    ((4, 5, 2), (1, 2), (2, 1), "SAME", 1, (0, 0, 0, 1)),
    ((4, 4, 2), 3, 1, 2, 2, (2, 2, 2, 2)),
    ((4, 5, 1), 2, (1, 2), (1, 0), 3, (1, 1, 0, 0)),
    # 8 channels or more: patches copied from a strided view, the bias added after the product
    ((4, 5, 8), 3, 1, "same", 2, (1, 1, 1, 1)),
    ((5, 4, 9), (2, 3), 2, 0, 3, (0, 0, 0, 0)),
]


@pytest.mark.parametrize("shape, ksize, stride, padding, filters, pads", CASES)
def test_forward_matches_a_plain_loop(shape, ksize, stride, padding, filters, pads) -> None:
    rng = np.random.default_rng(0)
    layer = built("conv2d", shape, ksize=ksize, stride=stride, padding=padding, filters=filters)
    layer.params["bias"][...] = rng.standard_normal(filters)
    X = rng.standard_normal((3,) + shape)
    s = (stride, stride) if isinstance(stride, int) else stride
    expected = reference_conv(X, layer.params["kernel"], layer.params["bias"], s, pads)
    Z = layer.forward(X)
    assert Z.shape[1:] == layer.output_shape
    np.testing.assert_allclose(Z, expected, rtol=1e-12, atol=1e-12)
    if padding in ("same", "SAME"):
        assert layer.output_shape[:2] == tuple(-(-d // t) for d, t in zip(shape[:2], s))


def test_forward_matches_scipy_correlate_summed_over_channels() -> None:
    rng = np.random.default_rng(1)
    layer = built("conv2d", (7, 6, 3), ksize=(3, 2), filters=2, padding="valid")
    X = rng.standard_normal((2, 7, 6, 3))
    kernel = layer.params["kernel"]
    Z = layer.forward(X)
    for b in range(2):
        for f in range(2):
            expected = sum(signal.correlate(X[b, :, :, c], kernel[:, :, c, f], mode="valid") for c in range(3))
            np.testing.assert_allclose(Z[b, :, :, f], expected, rtol=1e-12, atol=1e-12)


def test_same_padding_with_stride_two_puts_the_extra_row_at_the_bottom() -> None:
    layer = built("conv2d", (4, 4, 1), ksize=3, stride=2, padding="same", filters=1)
    layer.params["kernel"][...] = 1.0
    X = np.arange(16.0).reshape(1, 4, 4, 1)
    # windows start at rows/cols 0 and 2 with no padding before; the one padded row/col is after
    expected = [[X[0, 0:3, 0:3].sum(), X[0, 0:3, 2:4].sum()], [X[0, 2:4, 0:3].sum(), X[0, 2:4, 2:4].sum()]]
    np.testing.assert_allclose(layer.forward(X)[0, :, :, 0], expected)


@pytest.mark.parametrize("shape, ksize, stride, padding, filters, pads", CASES)
def test_gradients_match_finite_differences(shape, ksize, stride, padding, filters, pads) -> None:
    layer = built("conv2d", shape, ksize=ksize, stride=stride, padding=padding, filters=filters)
    X = np.random.default_rng(2).standard_normal((2,) + shape)
    check_gradients(layer, X)


def test_gradients_with_activation_and_without_bias() -> None:
    layer = built("conv2d", (5, 4, 2), ksize=2, stride=1, padding=1, filters=2, activation="sigmoid", use_bias=False)
    assert list(layer.params) == ["kernel"]
    check_gradients(layer, np.random.default_rng(3).standard_normal((2, 5, 4, 2)))


@pytest.mark.parametrize("channels", [2, 8])
def test_first_layer_may_skip_the_input_gradient(channels) -> None:
    layer = built("conv2d", (5, 6, channels), ksize=3, stride=2, padding="same", filters=3)
    check_skips_input_grad(layer, np.random.default_rng(8).standard_normal((2, 5, 6, channels)))


@pytest.mark.parametrize("channels", [2, 8])
def test_backward_uses_up_its_forward(channels) -> None:
    layer = built("conv2d", (4, 4, channels), ksize=3, filters=2)
    Z = layer.forward(np.ones((1, 4, 4, channels)), training=True)
    layer.backward(np.ones_like(Z))
    with pytest.raises(RuntimeError, match="Conv2D layer.*forward"):
        layer.backward(np.ones_like(Z))


@pytest.mark.parametrize("channels, ksize", [(1, 3), (8, 3), (8, 1)])
def test_prediction_in_blocks_matches_one_pass_and_keeps_nothing(channels, ksize) -> None:
    layer = built("conv2d", (6, 5, channels), ksize=ksize, padding="same", filters=4, activation="relu", dtype="float32")
    layer.params["bias"][...] = np.random.default_rng(9).standard_normal(4)
    X = np.random.default_rng(10).standard_normal((2 * layer.block_samples + 3, 6, 5, channels)).astype(np.float32)
    blocks = layer.forward(X)  # prediction: blocks of block_samples samples, the last one short
    assert getattr(layer, "_kept", None) is None and layer._Z is None and layer._Y is None
    whole = layer.forward(X, training=True)  # training: one pass over the whole batch
    assert blocks.dtype == np.float32
    np.testing.assert_allclose(blocks, whole, rtol=1e-5, atol=1e-6)
    pad = ksize // 2
    expected = np.maximum(reference_conv(X, layer.params["kernel"], layer.params["bias"], (1, 1), (pad,) * 4), 0)
    np.testing.assert_allclose(blocks, expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("channels", [1, 8])
@pytest.mark.parametrize("activation, use_bias", [(None, True), ("tanh", True), ("sigmoid", False), ("softmax", True)])
def test_prediction_in_blocks_applies_any_activation_in_place(channels, activation, use_bias) -> None:
    """Blocks write into the output, which the activation then overwrites: element-wise with or without an in-place form, or softmax."""
    layer = built("conv2d", (5, 5, channels), ksize=2, stride=(1, 2), filters=3, activation=activation, use_bias=use_bias,
                  dtype="float32")
    if use_bias:
        layer.params["bias"][...] = np.random.default_rng(11).standard_normal(3)
    X = np.random.default_rng(12).standard_normal((layer.block_samples + 5, 5, 5, channels)).astype(np.float32)
    Z = reference_conv(X, layer.params["kernel"], layer.params["bias"] if use_bias else np.zeros(3), (1, 2), (0,) * 4)
    expected = {None: Z, "tanh": np.tanh(Z), "sigmoid": 1 / (1 + np.exp(-Z)),
                "softmax": np.exp(Z) / np.exp(Z).sum(axis=-1, keepdims=True)}[activation]
    np.testing.assert_allclose(layer.forward(X), expected, rtol=1e-4, atol=1e-5)


def reference_patches(Xp, k, s, out, ones, d=(1, 1)):
    """P by plain loops: a row per (sample, y, x), the window flattened as (i, j, c), then a 1 if ``ones``."""
    rows = []
    for b in range(len(Xp)):
        for y in range(out[0]):
            for x in range(out[1]):
                window = Xp[b, y * s[0] : y * s[0] + (k[0] - 1) * d[0] + 1 : d[0], x * s[1] : x * s[1] + (k[1] - 1) * d[1] + 1 : d[1], :]
                rows.append(np.concatenate([window.ravel(), [1.0]]) if ones else window.ravel())
    return np.array(rows)


@pytest.mark.parametrize("gather", [patches.gather_wide, patches.gather_narrow, patches.gather])
@pytest.mark.parametrize("channels, k, s, d", [(1, (3, 3), (1, 1), (1, 1)), (3, (2, 3), (2, 1), (1, 1)), (9, (3, 2), (1, 2), (1, 1)),
                                               (2, (2, 3), (1, 1), (3, 2)), (9, (3, 2), (1, 1), (2, 2))])
@pytest.mark.parametrize("ones", [False, True])
def test_every_patch_gathering_matches_a_plain_loop(gather, channels, k, s, d, ones) -> None:
    Xp = np.random.default_rng(13).standard_normal((3, 7, 6, channels))
    out = ((7 - (k[0] - 1) * d[0] - 1) // s[0] + 1, (6 - (k[1] - 1) * d[1] - 1) // s[1] + 1)
    expected = reference_patches(Xp, k, s, out, ones, d)
    assert patches.columns(k, channels, ones) == expected.shape[1]
    np.testing.assert_array_equal(gather(Xp, k, s, out, ones=ones, dilation=d), expected)
    buffer = np.full(expected.size + 5, np.nan)
    P = gather(Xp, k, s, out, ones=ones, buffer=buffer, dilation=d)
    np.testing.assert_array_equal(P, expected)
    assert np.shares_memory(P, buffer)  # written in place, not into a copy


@pytest.mark.parametrize("channels", [2, 8])
def test_blocks_pad_and_gather_the_samples_of_each_block(channels) -> None:
    X = np.random.default_rng(14).standard_normal((7, 5, 4, channels))
    pads, k, s, out = (1, 1, 0, 1), (3, 2), (1, 1), (5, 4)
    whole = patches.gather(spatial.pad(X, pads), k, s, out, ones=True)
    seen = []
    for samples, P in patches.blocks(X, k, s, out, pads=pads, ones=True, block=3):
        np.testing.assert_array_equal(P, whole[samples.start * 20 : samples.stop * 20])
        seen.append((samples.start, samples.stop))
    assert seen == [(0, 3), (3, 6), (6, 7)]


def test_weights_are_keras_layout_glorot_kernel_and_zero_bias() -> None:
    layer = built("conv2d", (10, 10, 8), ksize=(3, 5), filters=16, seed=4)
    assert list(layer.params) == ["kernel", "bias"]
    kernel = layer.params["kernel"]
    assert kernel.shape == (3, 5, 8, 16) and layer.params["bias"].shape == (16,)
    assert not layer.params["bias"].any()
    limit = np.sqrt(6.0 / (3 * 5 * 8 + 3 * 5 * 16))  # fans include the receptive field, as Keras
    assert np.abs(kernel).max() <= limit
    assert np.abs(kernel).max() > 0.95 * limit
    assert abs(kernel.std() - limit / np.sqrt(3)) < 0.05 * limit
    assert layer.count_params() == 3 * 5 * 8 * 16 + 16


def test_float32_stays_float32() -> None:
    layer = built("conv2d", (5, 5, 2), dtype="float32", ksize=3, filters=2, padding="same")
    X = np.random.default_rng(5).standard_normal((2, 5, 5, 2)).astype(np.float32)
    Z = layer.forward(X, training=True)
    dX = layer.backward(np.ones_like(Z))
    assert Z.dtype == dX.dtype == layer.grads["kernel"].dtype == np.float32


@pytest.mark.parametrize(
    "kwargs",
    [
        {"ksize": 0},
        {"ksize": (3, 0)},
        {"ksize": (3, 3, 3)},
        {"ksize": 2.5},
        {"ksize": 3, "stride": 0},
        {"ksize": 3, "padding": "full"},
        {"ksize": 3, "padding": -1},
        {"ksize": 3, "filters": 0},
        {"ksize": 3, "filters": True},
    ],
)
def test_bad_arguments_raise_value_error_naming_them(kwargs) -> None:
    with pytest.raises(ValueError, match="Conv2D"):
        get("layer", "conv2d", **kwargs)


def test_conv2d_after_a_flat_output_fails_at_add_naming_the_layer() -> None:
    model = Sequential()
    model.add("dense", units=4, input_size=(6,))
    with pytest.raises(ValueError, match=r"Conv2D layer 'conv2d'.*\(4,\)"):
        model.add("conv2d", ksize=2, filters=1)


def test_kernel_larger_than_the_input_fails_at_add() -> None:
    with pytest.raises(ValueError, match="Conv2D layer .*window"):
        Sequential().add("conv2d", ksize=5, filters=1, input_size=(4, 6, 1))


def test_flatten_follows_conv2d_and_routes_gradients_back() -> None:
    model = Sequential(dtype="float64", seed=0)
    conv = model.add("conv2d", ksize=2, filters=3, input_size=(4, 5, 2))
    flat = model.add("flatten")
    assert flat.output_shape == (3 * 4 * 3,)
    X = np.random.default_rng(6).standard_normal((2, 4, 5, 2))
    out = flat.forward(conv.forward(X, training=True), training=True)
    np.testing.assert_array_equal(out, conv.forward(X).reshape(2, -1))  # C order: height, width, channels
    grad = flat.backward(np.arange(out.size, dtype=float).reshape(out.shape))
    assert grad.shape == (2, 3, 4, 3)
    np.testing.assert_array_equal(grad.reshape(2, -1), np.arange(out.size).reshape(out.shape))


def test_small_cnn_learns_the_ten_digits() -> None:
    X, y = load_digits()
    X = (X / 16.0).reshape(-1, 8, 8, 1)
    order = np.random.default_rng(0).permutation(len(X))
    train, test = order[: int(0.8 * len(X))], order[int(0.8 * len(X)) :]
    model = Sequential(seed=0)
    model.add("conv2d", ksize=3, filters=16, activation="relu", padding="same", input_size=(8, 8, 1))
    model.add("maxpool2d", ksize=2)
    model.add("flatten")
    model.add("dense", units=10, activation="softmax")
    model.compile("categorical_cross_entropy", optimizer=get("optimizer", "sgd", learning_rate=0.05, momentum=0.9))
    model.fit(X[train], y[train], n_epochs=15, batch_size=32, verbose=0, seed=0)
    accuracy = np.mean(model.predict(X[test]).argmax(axis=-1) == y[test])
    assert accuracy >= 0.97


def test_a_model_of_both_forms_trains_saves_and_loads(tmp_path) -> None:
    from minikeras_core.layers import Conv2D, MaxPooling2D

    X = np.random.default_rng(15).standard_normal((24, 9, 9, 2)).astype(np.float32)
    y = np.arange(24) % 3
    model = Sequential(seed=0)
    model.add(Conv2D(6, (3, 3), dilation_rate=2, padding="same", activation="relu", input_shape=(9, 9, 2)))
    model.add(MaxPooling2D((2, 2), padding="same"))
    model.add(Conv2D, ksize=2, stride=1, filters=4, padding=1, activation="tanh")
    model.add("flatten")
    model.add("dense", units=3, activation="softmax")
    model.compile("sparse_categorical_crossentropy", optimizer="adam")
    model.fit(X, y, epochs=2, batch_size=8, verbose=0, seed=1)
    model.save(tmp_path / "conv.mk")
    restored = mk.load_model(tmp_path / "conv.mk")
    assert restored.get_config() == model.get_config()
    assert restored.layers[2].get_config()["kernel_size"] == [2, 2]  # the original form's layer saved in Keras's
    np.testing.assert_array_equal(restored.predict(X), model.predict(X))
