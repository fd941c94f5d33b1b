"""Pooling layers: Keras 3's values and signatures for every one, average pooling and MaxPooling1D against plain
loops and finite differences, global pooling (keepdims, ties, masks), names, errors, models saved and loaded."""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import numpy as np
import pytest
from _layer_checks import MaskZeros, built, check_gradients, check_skips_input_grad
from conftest import numerical_gradient

import minikeras_core as mk
from minikeras_core import Sequential, get
from minikeras_core.registry import REGISTRY

REFERENCE = json.loads((Path(__file__).parent / "data" / "keras" / "conv_pool_reference.json").read_text())
POOLING = [c for c in REFERENCE["cases"] if "Pooling" in c["layer"]]
NAMES = {  # Keras's class name: our snake_case entry points (Keras's aliases as further names)
    "MaxPooling1D": ["max_pooling1d", "max_pool1d"], "MaxPooling2D": ["max_pooling2d", "maxpool2d"],
    "AveragePooling1D": ["average_pooling1d", "avg_pool1d"], "AveragePooling2D": ["average_pooling2d", "avg_pool2d"],
    "GlobalAveragePooling1D": ["global_average_pooling1d", "global_avg_pool1d"],
    "GlobalMaxPooling1D": ["global_max_pooling1d", "global_max_pool1d"],
    "GlobalAveragePooling2D": ["global_average_pooling2d", "global_avg_pool2d"],
    "GlobalMaxPooling2D": ["global_max_pooling2d", "global_max_pool2d"],
}


def _case_id(case: dict) -> str:
    return "-".join([case["layer"]] + [f"{k}={v}" for k, v in case["kwargs"].items()] + (["masked"] if case["mask"] else []))


@pytest.mark.parametrize("case", POOLING, ids=_case_id)
def test_outputs_and_gradients_equal_keras(case) -> None:
    X = np.array(case["X"])
    mask = None if case["mask"] is None else np.array(case["mask"], dtype=bool)
    layer = get("layer", case["layer"], **case["kwargs"]).build(X.shape[1:], dtype="float64")
    np.testing.assert_allclose(layer.forward(X, mask=mask), case["Y"], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(layer.forward(X, training=True, mask=mask), case["Y"], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(layer.backward(np.array(case["R"])), case["dX"], rtol=1e-12, atol=1e-12)
    if "Y_keras_torch" in case:  # average pooling: Keras on torch counts copies of edge cells where it pads unevenly
        agrees = np.allclose(layer.forward(X), case["Y_keras_torch"], rtol=1e-12, atol=1e-12)
        assert agrees == case["keras_torch_agrees"]


def test_keras_on_torch_differs_only_in_uneven_same_average_pooling() -> None:
    differ = [(c["layer"], c["kwargs"]) for c in POOLING if not c.get("keras_torch_agrees", True)]
    assert differ and all(kwargs.get("padding") == "same" for _, kwargs in differ)


@pytest.mark.parametrize("name", sorted(NAMES))
def test_names_and_signature_are_kerass(name) -> None:
    cls = REGISTRY.resolve("layer", name)
    assert all(REGISTRY.resolve("layer", n) is cls for n in NAMES[name])
    assert getattr(mk.layers, name) is cls
    parameters = list(inspect.signature(cls.__init__).parameters.values())[1:]
    ours = [[p.name, "<required>" if p.default is p.empty else list(p.default) if isinstance(p.default, tuple) else p.default]
            for p in parameters[:-1]]
    assert ours == REFERENCE["signatures"][name]
    assert parameters[-1].kind is inspect.Parameter.VAR_KEYWORD


def test_kerass_other_class_names_resolve() -> None:
    from minikeras_core.layers import AvgPool1D, AvgPool2D, GlobalAvgPool1D, GlobalAvgPool2D, GlobalMaxPool1D, MaxPool1D

    assert (AvgPool1D.__name__, AvgPool2D.__name__, MaxPool1D.__name__) == ("AveragePooling1D", "AveragePooling2D", "MaxPooling1D")
    assert (GlobalAvgPool1D.__name__, GlobalAvgPool2D.__name__, GlobalMaxPool1D.__name__) == (
        "GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalMaxPooling1D")


# -- windows against plain loops -----------------------------------------------------------------

def reference_pool(X, k, s, padding, reduce):
    """Plain loops over output positions of an image batch; "same" windows keep only their cells inside the input."""
    n, h, w, c = X.shape
    out = [-(-size // stride) if padding == "same" else (size - kk) // stride + 1 for size, kk, stride in zip((h, w), k, s)]
    before = [max((o - 1) * stride + kk - size, 0) // 2 if padding == "same" else 0
              for o, size, kk, stride in zip(out, (h, w), k, s)]
    Y = np.zeros((n, out[0], out[1], c))
    for y in range(out[0]):
        for x in range(out[1]):
            top, left = y * s[0] - before[0], x * s[1] - before[1]
            window = X[:, max(top, 0) : top + k[0], max(left, 0) : left + k[1], :]
            Y[:, y, x, :] = reduce(window, axis=(1, 2))
    return Y


# (layer, input shape, pool_size, strides, padding)
WINDOWS = [
    ("average_pooling2d", (4, 6, 2), 2, None, "valid"),
    ("average_pooling2d", (5, 6, 2), (3, 2), 1, "valid"),  # overlapping windows add their gradients
    ("average_pooling2d", (3, 3, 1), 2, 1, "same"),
    ("average_pooling2d", (6, 5, 3), (3, 4), (2, 1), "same"),  # uneven padding, windows of up to 3 padded cells
    ("average_pooling2d", (7, 8, 2), 2, 3, "valid"),  # gaps between windows
    ("average_pooling1d", (7, 2), 3, 2, "same"),
    ("average_pooling1d", (5, 3), 4, 1, "same"),
    ("max_pooling1d", (6, 2), 2, None, "valid"),
    ("max_pooling1d", (7, 3), 3, 2, "same"),
    ("max_pooling1d", (5, 2), 3, 1, "valid"),
]


@pytest.mark.parametrize("name, shape, pool, strides, padding", WINDOWS)
def test_windows_match_a_plain_loop_and_gradients_match_finite_differences(name, shape, pool, strides, padding) -> None:
    layer = built(name, shape, pool_size=pool, strides=strides, padding=padding)
    X = np.random.default_rng(0).standard_normal((3,) + shape)
    images = X if len(shape) == 3 else X[:, None]
    k = (pool, pool) if isinstance(pool, int) else pool
    k = k if len(shape) == 3 else (1, pool)
    s = k if strides is None else (strides, strides) if isinstance(strides, int) else strides
    s = s if len(shape) == 3 else (1, s[1])
    expected = reference_pool(images, k, s, padding, np.mean if name.startswith("average") else np.max)
    expected = expected if len(shape) == 3 else expected[:, 0]
    assert layer.output_shape == expected.shape[1:]
    np.testing.assert_allclose(layer.forward(X), expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(layer.forward(X, training=True), expected, rtol=1e-12, atol=1e-12)
    check_gradients(layer, X[:2])
    check_skips_input_grad(layer, X[:2])


def test_same_average_pooling_counts_only_the_cells_inside_as_kerass_docstring_shows() -> None:
    X = np.arange(1.0, 10.0).reshape(1, 3, 3, 1)
    Y = built("average_pooling2d", (3, 3, 1), pool_size=2, strides=1, padding="same").forward(X)
    np.testing.assert_allclose(Y[0, :, :, 0], [[3, 4, 4.5], [6, 7, 7.5], [7.5, 8.5, 9]])


def test_max_pooling1d_sends_a_tie_to_its_first_maximum() -> None:
    layer = built("max_pooling1d", (4, 1), pool_size=2, strides=1)
    layer.forward(np.array([[[1.0], [3.0], [3.0], [0.0]]]), training=True)
    np.testing.assert_array_equal(layer.backward(np.ones((1, 3, 1)))[0, :, 0], [0, 2, 1, 0])


# -- global pooling ------------------------------------------------------------------------------

@pytest.mark.parametrize("name, shape", [("global_average_pooling1d", (5, 3)), ("global_max_pooling1d", (5, 3)),
                                         ("global_average_pooling2d", (4, 3, 2)), ("global_max_pooling2d", (4, 3, 2))])
@pytest.mark.parametrize("keepdims", [False, True])
def test_global_pooling_values_shapes_and_gradients(name, shape, keepdims) -> None:
    layer = built(name, shape, keepdims=keepdims)
    X = np.random.default_rng(1).standard_normal((3,) + shape)
    axes = tuple(range(1, len(shape)))
    expected = (X.mean if "average" in name else X.max)(axis=axes, keepdims=keepdims)
    assert layer.output_shape == expected.shape[1:] == ((1,) * (len(shape) - 1) if keepdims else ()) + shape[-1:]
    np.testing.assert_allclose(layer.forward(X), expected, rtol=1e-12, atol=1e-12)
    check_gradients(layer, X)
    check_skips_input_grad(layer, X)


def test_global_max_shares_a_tie_equally_as_kerass_max() -> None:
    layer = built("global_max_pooling1d", (4, 1))
    layer.forward(np.array([[[2.0], [5.0], [5.0], [5.0]]]), training=True)
    np.testing.assert_allclose(layer.backward(np.array([[3.0]]))[0, :, 0], [0, 1, 1, 1])


def test_global_average_pooling1d_with_a_mask_averages_the_kept_steps_only() -> None:
    layer = built("global_average_pooling1d", (4, 2))
    X = np.random.default_rng(2).standard_normal((3, 4, 2))
    X[1, 0] = np.inf  # a masked step takes no part, whatever it holds
    mask = np.array([[1, 1, 1, 1], [0, 1, 1, 0], [0, 0, 0, 1]], dtype=bool)
    Y = layer.forward(X, mask=mask)
    expected = [X[0].mean(axis=0), X[1, 1:3].mean(axis=0), X[2, 3]]
    np.testing.assert_allclose(Y, expected, rtol=1e-12)
    R = np.random.default_rng(3).standard_normal(Y.shape)
    layer.forward(X, training=True, mask=mask)
    dX = layer.backward(R)
    np.testing.assert_array_equal(dX[~mask], 0)
    X[1, 0] = 0.0
    numeric = numerical_gradient(lambda: float(np.sum(R * layer.forward(X, mask=mask))), X)
    np.testing.assert_allclose(dX, numeric, rtol=1e-6, atol=1e-8)
    assert layer.compute_mask(X, mask) is None  # the steps are gone


def test_a_wholly_masked_sequence_averages_to_nan_as_in_keras() -> None:
    layer = built("global_average_pooling1d", (3, 2))
    Y = layer.forward(np.ones((2, 3, 2)), mask=np.array([[1, 0, 0], [0, 0, 0]], dtype=bool))
    np.testing.assert_array_equal(Y[0], [1, 1])
    assert np.isnan(Y[1]).all()


def test_a_models_mask_reaches_global_average_pooling1d() -> None:
    X = np.random.default_rng(4).standard_normal((5, 6, 2))
    X[:, :3, 0] = 0.0  # three leading padded steps
    model = Sequential(dtype="float64", seed=0)
    model.add(MaskZeros(input_shape=(6, 2)))
    model.add("global_average_pooling1d")
    np.testing.assert_allclose(model.predict(X), X[:, 3:].mean(axis=1), rtol=1e-12)


def test_float32_stays_float32_and_there_are_no_weights() -> None:
    for name, shape in [("average_pooling2d", (4, 4, 2)), ("average_pooling1d", (4, 2)), ("global_average_pooling2d", (4, 4, 2)),
                        ("global_max_pooling1d", (4, 2)), ("max_pooling1d", (4, 2))]:
        kwargs = {"pool_size": 2} if "global" not in name else {}
        layer = built(name, shape, dtype="float32", **kwargs)
        X = np.random.default_rng(5).standard_normal((2,) + shape).astype(np.float32)
        Y = layer.forward(X, training=True)
        assert Y.dtype == layer.backward(np.ones_like(Y)).dtype == np.float32, name
        assert layer.count_params() == 0 and layer.params == {}


@pytest.mark.parametrize("name, kwargs, message", [
    ("average_pooling2d", {"pool_size": 2, "padding": 1}, "padding must be 'valid' or 'same', got 1"),
    ("average_pooling2d", {"pool_size": 0}, "pool_size must be a positive int"),
    ("average_pooling1d", {"pool_size": (2, 2)}, "pool_size must be a positive int or a tuple of 1"),
    ("max_pooling1d", {"padding": "causal"}, "padding must be 'valid' or 'same'"),
    ("max_pooling1d", {"strides": 0}, "strides must be a positive int"),
    ("global_max_pooling2d", {"data_format": "channels_first"}, "data_format must be 'channels_last' or None"),
])
def test_bad_arguments_raise_value_error_naming_them(name, kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        get("layer", name, **kwargs)


def test_average_pooling_needs_its_pool_size_as_keras() -> None:
    with pytest.raises(TypeError, match="pool_size"):
        get("layer", "average_pooling2d")


@pytest.mark.parametrize("name, shape, message", [
    ("max_pooling1d", (4, 4, 1), r"MaxPooling1D layer .*sequences of shape \(steps, channels\)"),
    ("average_pooling2d", (4, 3), r"AveragePooling2D layer .*images of shape \(height, width, channels\)"),
    ("global_average_pooling1d", (4, 4, 2), r"GlobalAveragePooling1D layer .*sequences"),
    ("global_max_pooling2d", (4,), r"GlobalMaxPooling2D layer .*images"),
])
def test_a_sample_of_the_wrong_rank_fails_at_add_naming_the_layer(name, shape, message) -> None:
    with pytest.raises(ValueError, match=message):
        Sequential().add(name, **({"pool_size": 2} if name.startswith("average") else {}), input_size=shape)


# -- in models -----------------------------------------------------------------------------------

def _images(how: str, model: Sequential) -> None:
    if how == "class":
        L = mk.layers
        for layer in [L.Conv2D(4, 3, padding="same", activation="relu", input_shape=(8, 8, 1)), L.AveragePooling2D(2),
                      L.Conv2D(6, 2, dilation_rate=2, padding="same"), L.MaxPooling2D(pool_size=2, strides=1, padding="same"),
                      L.GlobalAveragePooling2D(keepdims=True), L.Flatten(), L.Dense(3, activation="softmax")]:
            model.add(layer)
        return
    model.add("conv2d", filters=4, kernel_size=3, padding="same", activation="relu", input_shape=(8, 8, 1))
    model.add("avg_pool2d", pool_size=2)
    model.add("Conv2D", filters=6, kernel_size=2, dilation_rate=2, padding="same")
    model.add("max_pooling2d", pool_size=2, strides=1, padding="same")
    model.add("global_max_pooling2d")
    model.add("dense", units=3, activation="softmax")


def _sequences(how: str, model: Sequential) -> None:
    if how == "class":
        L = mk.layers
        for layer in [L.Conv1D(4, 3, padding="causal", dilation_rate=2, activation="relu", input_shape=(12, 2)),
                      L.MaxPooling1D(2), L.Conv1D(5, 2, strides=2, padding="same"), L.AveragePooling1D(2, 1, "same"),
                      L.GlobalAveragePooling1D(), L.Dense(3, activation="softmax")]:
            model.add(layer)
        return
    model.add("conv1d", filters=4, kernel_size=3, padding="causal", dilation_rate=2, activation="relu", input_shape=(12, 2))
    model.add("max_pool1d", pool_size=2)
    model.add("Convolution1D", filters=5, kernel_size=2, strides=2, padding="same")
    model.add("average_pooling1d", pool_size=2, strides=1, padding="same")
    model.add("GlobalMaxPooling1D", keepdims=True)
    model.add("flatten")
    model.add("dense", units=3, activation="softmax")


@pytest.mark.parametrize("data", ["images", "sequences"])
@pytest.mark.parametrize("how", ["class", "string"])
def test_a_model_of_the_layers_fits_saves_and_loads(data, how, tmp_path) -> None:
    rng = np.random.default_rng(6)
    X = rng.standard_normal((48, 8, 8, 1) if data == "images" else (48, 12, 2)).astype(np.float32)
    y = (X.reshape(48, -1)[:, :5].sum(axis=1) > 0).astype(int) + (X.reshape(48, -1)[:, 5] > 1)
    model = Sequential(seed=0)
    (_images if data == "images" else _sequences)(how, model)
    model.compile("sparse_categorical_crossentropy", optimizer="adam")
    before = model.evaluate(X, y, verbose=0)[0]
    model.fit(X, y, epochs=4, batch_size=16, verbose=0, seed=1)
    assert model.evaluate(X, y, verbose=0)[0] < before
    path = tmp_path / f"{data}-{how}.mk"
    model.save(path)
    restored = mk.load_model(path)
    assert restored.get_config() == model.get_config()
    np.testing.assert_array_equal(restored.predict(X), model.predict(X))
    restored.fit(X, y, epochs=1, batch_size=16, verbose=0, seed=2)  # and trains on
