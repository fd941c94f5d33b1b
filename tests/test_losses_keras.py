"""Keras 3's losses: values and gradients against stored Keras figures, names, arguments, and training.

The reference values come from Keras 3 itself (torch backend, float64), recorded by
``tests/data/keras/make_loss_reference.py`` into ``tests/data/keras/loss_reference.json``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import minikeras_core as mk
from minikeras_core import Sequential, get
from minikeras_core.registry import REGISTRY

REFERENCE = json.loads((Path(__file__).parent / "data" / "keras" / "loss_reference.json").read_text())
CASES = REFERENCE["losses"]
FUSED = REFERENCE["fused"]

# Keras class name -> the names it answers to (snake_case entry points, Keras's function names)
NAMES = {
    "BinaryCrossentropy": ["binary_crossentropy", "binary_cross_entropy", "BinaryCrossEntropy"],
    "CategoricalCrossentropy": ["categorical_crossentropy", "categorical_cross_entropy", "CategoricalCrossEntropy"],
    "SparseCategoricalCrossentropy": ["sparse_categorical_crossentropy"],
    "MeanSquaredError": ["mean_squared_error", "mse", "MSE"],
    "MeanAbsoluteError": ["mean_absolute_error", "mae", "MAE"],
    "Huber": ["huber"],
}


def _case_id(case: dict) -> str:
    return f"{case['name']}-{case['kwargs']}-{np.shape(case['y_pred'])}-{np.shape(case['y_true'])}"


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_value_per_sample_and_gradient_equal_keras(case):
    loss = get("loss", case["name"], **case["kwargs"])
    y_pred, y_true = np.array(case["y_pred"]), np.array(case["y_true"])
    assert loss(y_pred, y_true) == pytest.approx(case["value"], rel=1e-6, abs=1e-12)
    per_sample = loss.per_sample(y_pred, loss.prepare_targets(y_pred, y_true))
    np.testing.assert_allclose(per_sample, np.reshape(case["per_sample"], per_sample.shape), rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(loss.grad_input(y_pred, y_true), case["grad"], rtol=1e-6, atol=1e-12)


def _clip_bites(case: dict) -> bool:
    """Whether a probability lies outside [1e-7, 1 - 1e-7]: where float32 cannot hold 1 - 1e-7, so its clip differs."""
    p = np.asarray(case["y_pred"])
    probabilities = "crossentropy" in case["name"] and not case["kwargs"].get("from_logits")
    return probabilities and bool(np.any((p < 1e-7) | (p > 1 - 1e-7)))


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_float32_stays_float32_finite_and_close_to_keras(case):
    loss = get("loss", case["name"], **case["kwargs"])
    y_pred, y_true = np.array(case["y_pred"], dtype=np.float32), np.array(case["y_true"])
    with np.errstate(over="raise", divide="raise", invalid="raise"):  # no overflow or log(0), logits at +-1e3 included
        value, grad = loss(y_pred, y_true), loss.grad_input(y_pred, y_true)
    assert grad.dtype == np.float32 and np.all(np.isfinite(grad)) and np.isfinite(value)
    if not _clip_bites(case):
        assert value == pytest.approx(case["value"], rel=1e-5, abs=1e-6)
        np.testing.assert_allclose(grad, case["grad"], rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("case", FUSED, ids=lambda c: f"{c['activation']}-{c['name']}-{c['kwargs']}")
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_fused_gradient_is_keras_gradient_through_the_activation_even_when_saturated(case, dtype):
    activation = get("activation", case["activation"])
    loss = get("loss", case["name"], **case["kwargs"])
    z = np.array(case["z"], dtype=dtype)
    fused = loss.fused_grad(activation, activation.eval(z), np.array(case["y_true"]))
    assert fused.dtype == dtype
    tolerance = {"rtol": 1e-6, "atol": 1e-12} if dtype == np.float64 else {"rtol": 1e-5, "atol": 1e-7}
    np.testing.assert_allclose(fused, case["grad_z"], **tolerance)
    # the same loss on logits gives the same gradient directly
    logits = get("loss", case["name"], **case["kwargs"], from_logits=True)
    np.testing.assert_allclose(logits.grad_input(z, np.array(case["y_true"])), case["grad_z"], **tolerance)


@pytest.mark.parametrize("name", ["binary_crossentropy", "categorical_crossentropy", "sparse_categorical_crossentropy"])
def test_no_fusion_on_logits_or_with_another_activation(name):
    z = np.array([[0.5, -1.0, 2.0]])
    y = np.array([2]) if name.startswith("sparse") else np.array([[0.0, 0.0, 1.0]])
    other = "softmax" if name.startswith("binary") else "sigmoid"
    assert get("loss", name).fused_grad(get("activation", other), z, y) is None
    assert get("loss", name).fused_grad(get("activation", "tanh"), z, y) is None
    for activation in ("softmax", "sigmoid"):
        assert get("loss", name, from_logits=True).fused_grad(get("activation", activation), z, y) is None


@pytest.mark.parametrize("class_name", sorted(NAMES))
def test_every_keras_name_resolves_to_one_class_named_as_in_keras(class_name):
    cls = REGISTRY.resolve("loss", class_name)
    assert cls.__name__ == class_name
    for name in [class_name.lower(), *NAMES[class_name]]:
        assert REGISTRY.resolve("loss", name) is cls
    assert getattr(__import__("minikeras_core.losses", fromlist=[class_name]), class_name) is cls
    assert get("loss", class_name).get_config()["name"] == get("loss", NAMES[class_name][0]).name


def test_the_original_class_names_still_import():
    from minikeras_core.losses import (
        BinaryCrossEntropy,
        BinaryCrossentropy,
        CategoricalCrossEntropy,
        CategoricalCrossentropy,
    )

    assert BinaryCrossEntropy is BinaryCrossentropy and CategoricalCrossEntropy is CategoricalCrossentropy
    assert mk.registered_name(BinaryCrossentropy) == "binary_cross_entropy"  # saved files keep the original name


def test_positional_arguments_and_defaults_follow_keras():
    bce = get("loss", "binary_crossentropy")
    assert bce.get_config() == {"from_logits": False, "label_smoothing": 0.0, "axis": -1, "reduction": "sum_over_batch_size",
                                "name": "binary_crossentropy", "dtype": None}
    Bce, Cce = REGISTRY.resolve("loss", "BinaryCrossentropy"), REGISTRY.resolve("loss", "CategoricalCrossentropy")
    Scce, Huber = REGISTRY.resolve("loss", "SparseCategoricalCrossentropy"), REGISTRY.resolve("loss", "Huber")
    assert (Bce(True, 0.25).from_logits, Bce(True, 0.25).label_smoothing) == (True, 0.25)
    assert (Cce(True, 0.1).from_logits, Cce(True, 0.1).label_smoothing) == (True, 0.1)
    assert Scce(True).from_logits and Scce(False, None, "mean").reduction == "mean"
    assert Huber(0.5).delta == 0.5 and Huber().get_config()["name"] == "huber_loss"
    assert get("loss", "mse").get_config() == {"reduction": "sum_over_batch_size", "name": "mean_squared_error", "dtype": None}


@pytest.mark.parametrize("name", sorted({names[0] for names in NAMES.values()}))
def test_unknown_arguments_raise_type_error_naming_them(name):
    with pytest.raises(TypeError, match="bogus"):
        get("loss", name, bogus=1)


@pytest.mark.parametrize(
    "name, kwargs, match",
    [
        ("binary_crossentropy", {"reduction": "sum"}, "reduction='sum' is not supported"),
        ("mse", {"reduction": None}, "reduction=None is not supported"),
        ("huber", {"reduction": "avg"}, "not a Keras reduction"),
        ("categorical_crossentropy", {"axis": 1}, "axis=1"),
        ("categorical_crossentropy", {"label_smoothing": 1.5}, "label_smoothing must lie in"),
        ("sparse_categorical_crossentropy", {"ignore_class": 0}, "ignore_class=0 is not supported"),
        ("huber", {"delta": 0.0}, "delta must be positive"),
        ("mae", {"dtype": "int32"}, "dtype='int32'"),
    ],
)
def test_bad_arguments_raise_value_errors_naming_them(name, kwargs, match):
    with pytest.raises(ValueError, match=match):
        get("loss", name, **kwargs)


def test_from_logits_must_be_a_boolean():
    with pytest.raises(TypeError, match="from_logits must be True or False"):
        get("loss", "binary_crossentropy", from_logits="yes")


def test_sparse_loss_takes_ids_of_either_shape_and_equals_the_one_hot_categorical_loss():
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.ones(5), size=6)
    ids = rng.integers(0, 5, size=6)
    sparse, dense = get("loss", "sparse_categorical_crossentropy"), get("loss", "categorical_crossentropy")
    for targets in (ids, ids[:, None], np.eye(5)[ids]):
        assert sparse(p, targets) == pytest.approx(dense(p, np.eye(5)[ids]), rel=1e-12)
        np.testing.assert_allclose(sparse.grad_input(p, targets), dense.grad_input(p, np.eye(5)[ids]), rtol=1e-12)
    with pytest.raises(ValueError, match="class ids must lie in"):
        sparse(p, np.full(6, 5))


def test_label_smoothing_with_class_ids_smooths_the_one_hot_rows():
    p = np.array([[0.7, 0.2, 0.1], [0.2, 0.5, 0.3]])
    loss = get("loss", "categorical_crossentropy", label_smoothing=0.3)
    smoothed = np.eye(3)[[0, 2]] * 0.7 + 0.1
    assert loss(p, np.array([0, 2])) == pytest.approx(-np.mean(np.sum(smoothed * np.log(p), axis=-1)), rel=1e-12)


def _train(loss, X, y, units, activation, epochs=30):
    model = Sequential(seed=0)
    model.add("dense", units=16, activation="tanh", input_size=(X.shape[1],))
    model.add("dense", units=units, activation=activation)
    model.compile(loss, optimizer=get("optimizer", "sgd", learning_rate=0.1))
    before = model.evaluate(X, y)[0]
    history = model.fit(X, y, epochs=epochs, batch_size=16, verbose=0)
    return before, history.history["loss"], model


@pytest.mark.parametrize(
    "loss, target, units, activation",
    [
        ("mean_squared_error", "regression", 2, "linear"),
        ("mse", "regression", 2, "linear"),
        ("mean_absolute_error", "regression", 2, "linear"),
        ("mae", "regression", 2, "linear"),
        ("huber", "regression", 2, "linear"),
        ("sparse_categorical_crossentropy", "ids", 3, "softmax"),
        ("sparse_categorical_crossentropy", "ids_column", 3, "softmax"),
        ("categorical_crossentropy", "one_hot", 3, "softmax"),
        ("binary_crossentropy", "binary", 1, "sigmoid"),
        (("categorical_crossentropy", {"from_logits": True, "label_smoothing": 0.1}), "one_hot", 3, "linear"),
        (("sparse_categorical_crossentropy", {"from_logits": True}), "ids", 3, "linear"),
        (("binary_crossentropy", {"from_logits": True, "label_smoothing": 0.1}), "binary", 1, "linear"),
    ],
)
def test_a_model_compiled_with_the_loss_by_name_trains(loss, target, units, activation):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(96, 4)).astype(np.float32)
    ids = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0.5)
    y = {
        "regression": np.stack([X[:, 0] - X[:, 2], 0.5 * X[:, 1]], axis=1),
        "ids": ids,
        "ids_column": ids[:, None],
        "one_hot": np.eye(3)[ids],
        "binary": (X[:, 0] > 0).astype(float),
    }[target]
    if isinstance(loss, tuple):
        loss = get("loss", *loss[:1], **loss[1])
    before, losses, model = _train(loss, X, y, units, activation)
    assert losses[-1] < 0.7 * before, (before, losses)
    assert model.evaluate(X, y)[0] == pytest.approx(losses[-1], rel=0.2)


def test_a_model_with_a_keras_loss_saves_and_loads_its_arguments(tmp_path):
    X = np.random.default_rng(2).normal(size=(8, 4))
    model = Sequential(seed=0, dtype="float64")
    model.add("dense", units=3, input_size=(4,))
    model.compile(get("loss", "categorical_crossentropy", from_logits=True, label_smoothing=0.2))
    model.save(tmp_path / "m.mk")
    restored = mk.load_model(tmp_path / "m.mk")
    assert type(restored.loss).__name__ == "CategoricalCrossentropy"
    assert restored.loss.get_config() == model.loss.get_config()
    y = np.arange(8) % 3
    assert restored.evaluate(X, y)[0] == pytest.approx(model.evaluate(X, y)[0], rel=1e-12)


@pytest.mark.parametrize("name", ["mean_squared_error", "binary_crossentropy", "categorical_crossentropy"])
def test_the_mean_loss_is_the_mean_of_the_per_sample_losses_and_refuses_no_samples(name):
    loss = mk.get("loss", name)
    rng = np.random.default_rng(0)
    y_pred = rng.uniform(0.05, 0.95, (7, 3))
    y_true = np.eye(3)[rng.integers(0, 3, 7)]
    assert loss(y_pred, y_true) == pytest.approx(float(np.mean(loss.per_sample(y_pred, y_true))), rel=1e-15)
    with pytest.raises(ValueError, match="no samples"):
        loss(np.empty((0, 3)), np.empty((0, 3)))
