"""LayerNormalization: Keras's values, gradients by finite differences, weights' shapes, a model that learns."""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import numpy as np
import pytest
from _layer_checks import built, check_gradients, check_skips_input_grad

import minikeras_core as mk
from minikeras_core import Sequential, get, load_model
from minikeras_core.datasets import load_digits
from minikeras_core.registry import REGISTRY

REFERENCE = json.loads((Path(__file__).parent / "data" / "keras" / "normalization_reference.json").read_text())

#: keras/src/layers/normalization/layer_normalization.py: LayerNormalization.__init__'s parameters in order, with their
#: defaults. Keras 3.15 takes rms_scaling (deprecated) from **kwargs; here it is a named argument after them.
KERAS_SIGNATURE = [
    ("axis", -1), ("epsilon", 1e-3), ("center", True), ("scale", True), ("beta_initializer", "zeros"),
    ("gamma_initializer", "ones"), ("beta_regularizer", None), ("gamma_regularizer", None), ("beta_constraint", None),
    ("gamma_constraint", None),
]


def test_registered_as_kerass_layer_with_kerass_signature():
    cls = REGISTRY.resolve("layer", "layer_normalization")
    assert cls is REGISTRY.resolve("layer", "LayerNormalization") and cls is mk.layers.LayerNormalization
    parameters = list(inspect.signature(cls.__init__).parameters.values())[1:]
    assert [(p.name, p.default) for p in parameters[:-2]] == KERAS_SIGNATURE
    assert (parameters[-2].name, parameters[-2].default) == ("rms_scaling", False)
    assert parameters[-1].kind is inspect.Parameter.VAR_KEYWORD


def _case_id(case):
    return "-".join(f"{k}={v}" for k, v in case["kwargs"].items()) + f"-{np.array(case['X']).ndim}d"


@pytest.mark.parametrize("case", REFERENCE["layer_normalization"], ids=_case_id)
def test_outputs_and_gradients_equal_kerass(case):
    X, R = np.array(case["X"]), np.array(case["R"])
    layer = built("layer_normalization", X.shape[1:], **case["kwargs"])
    assert list(layer.params) == [name.split("/")[-1] for name in case["weight_names"]]
    layer.set_weights([np.array(w) for w in case["weights"]])
    np.testing.assert_allclose(layer.forward(X), case["Y"], rtol=1e-6, atol=1e-9)  # the same in training and inference
    np.testing.assert_allclose(layer.forward(X, training=True), case["Y"], rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(layer.backward(R), case["dX"], rtol=1e-6, atol=1e-9)
    for grad, expected in zip(layer.grads.values(), case["dweights"], strict=True):
        np.testing.assert_allclose(grad, expected, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("shape, kwargs", [
    ((3, 5), {}),
    ((2, 3, 4), {"axis": -2}),
    ((2, 3, 2, 2), {"axis": (1, 3), "center": False}),
    ((2, 3, 4), {"axis": (-1, -2), "scale": False}),
    ((2, 3, 4), {"axis": 2, "rms_scaling": True}),
])
def test_gradients_match_finite_differences(shape, kwargs):
    rng = np.random.default_rng(3)
    X = rng.normal(0.5, 2.0, size=shape)
    layer = built("layer_normalization", shape[1:], **kwargs)
    layer.set_weights([rng.normal(size=w.shape) for w in layer.get_weights()])
    check_gradients(layer, X)
    check_skips_input_grad(layer, X)


def test_normalizes_each_sample_over_its_axes_with_weights_of_their_shape():
    rng = np.random.default_rng(4)
    X = rng.normal(3.0, 2.0, size=(4, 3, 5, 2))
    layer = built("layer_normalization", X.shape[1:], axis=(3, 1), epsilon=0.01)
    assert {name: w.shape for name, w in layer.params.items()} == {"gamma": (3, 2), "beta": (3, 2)}
    gamma, beta = rng.normal(size=(3, 2)), rng.normal(size=(3, 2))
    layer.set_weights([gamma, beta])
    Y = layer.forward(X)
    for n in range(4):  # one sample and one position of axis 2 at a time, from the formula
        for j in range(5):
            x = X[n, :, j, :]
            np.testing.assert_allclose(Y[n, :, j, :], gamma * (x - x.mean()) / np.sqrt(x.var() + 0.01) + beta, rtol=1e-12)
    rms = built("layer_normalization", X.shape[1:], rms_scaling=True)
    assert list(rms.params) == ["gamma"]  # no beta: nothing is centered
    expected = X / np.sqrt(X.var(axis=-1, keepdims=True) + 1e-3) * rms.params["gamma"]  # divided by the centered deviation
    np.testing.assert_allclose(rms.forward(X), expected, rtol=1e-12)


def test_float32_stays_float32():
    layer = built("layer_normalization", (4, 6), dtype="float32", axis=(1, 2))
    X = np.random.default_rng(5).normal(size=(3, 4, 6)).astype(np.float32)
    Y = layer.forward(X, training=True)
    dX = layer.backward(np.ones_like(Y))
    assert Y.dtype == dX.dtype == np.float32 and all(g.dtype == np.float32 for g in layer.grads.values())


@pytest.mark.parametrize("kwargs, message", [
    ({"gamma_regularizer": "l2"}, "gamma_regularizer"),
    ({"beta_constraint": "non_neg"}, "beta_constraint"),
    ({"axis": "last"}, "axis"),
    ({"axis": ()}, "axis"),
    ({"epsilon": -1.0}, "epsilon"),
])
def test_what_it_cannot_do_is_refused_by_name(kwargs, message):
    with pytest.raises(ValueError, match=message):
        get("layer", "layer_normalization", **kwargs)


@pytest.mark.parametrize("axis", [0, (1, 0), 3, (1, -2)])
def test_the_batch_axis_and_axes_out_of_range_or_repeated_are_refused_at_build(axis):
    with pytest.raises(ValueError, match="axis"):
        get("layer", "layer_normalization", axis=axis).build((3, 4))


def test_a_model_with_layer_normalization_learns_digits_and_is_saved(tmp_path):
    X, y = load_digits()
    X = (X / 16.0).astype(np.float32)  # (n, 8, 8): 8 rows of 8 pixels
    model = Sequential(seed=0, dtype="float32")
    model.add("dense", units=16, activation="relu", input_size=(8, 8))
    model.add("layer_normalization", axis=(-2, -1))
    model.add("flatten")
    model.add("dense", units=10, activation="softmax")
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    order = np.random.default_rng(0).permutation(len(X))
    train, test = order[:1400], order[1400:]
    losses = model.fit(X[train], y[train], epochs=5, batch_size=32, verbose=0).history["loss"]
    assert losses[-1] < 0.3 * losses[0]
    _, accuracy = model.evaluate(X[test], y[test], verbose=0)
    assert accuracy > 0.9
    model.save(tmp_path / "ln.mk")
    loaded = load_model(tmp_path / "ln.mk")
    assert loaded.layers[1].get_config()["axis"] == [-2, -1]
    np.testing.assert_array_equal(loaded.predict(X[test], verbose=0), model.predict(X[test], verbose=0))
