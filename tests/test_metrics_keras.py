"""Keras 3's sparse categorical and top-k accuracies: values against stored Keras figures, ties, names, fit's logs.

The reference values come from Keras 3 itself (torch backend), recorded by
``tests/data/keras/make_loss_reference.py`` into ``tests/data/keras/metric_reference.json``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import minikeras_core as mk
from minikeras_core import Metric, Sequential, get
from minikeras_core.registry import REGISTRY

REFERENCE = json.loads((Path(__file__).parent / "data" / "keras" / "metric_reference.json").read_text())


@pytest.mark.parametrize("case", REFERENCE["metrics"], ids=lambda c: f"{c['name']}-{c['kwargs']}-{np.shape(c['y_true'])}")
def test_value_equals_keras(case):
    metric = get("metric", case["name"], **case["kwargs"])
    value = metric(np.array(case["y_pred"]), np.array(case["y_true"]))
    assert isinstance(value, float)
    assert value == pytest.approx(case["value"], rel=1e-6)  # Keras's metric holds its figure in float32


def test_names_and_classes_are_keras_s():
    for name, class_name in [("sparse_categorical_accuracy", "SparseCategoricalAccuracy"),
                             ("top_k_categorical_accuracy", "TopKCategoricalAccuracy")]:
        cls = REGISTRY.resolve("metric", name)
        assert cls.__name__ == class_name and REGISTRY.resolve("metric", class_name) is cls
        assert issubclass(cls, Metric) and cls.direction == "up"
        assert get("metric", name).name == name  # the key in fit's logs, as Keras's default name
    assert get("metric", "top_k_categorical_accuracy").k == 5
    assert REGISTRY.resolve("metric", "TopKCategoricalAccuracy")(3).k == 3  # k first, as in Keras


def _hand_rows():
    # row 0: class 2 second; row 1: class 3 tied with everything; row 2: class 0 last
    return np.array([[0.1, 0.6, 0.3, 0.0], [0.25, 0.25, 0.25, 0.25], [0.1, 0.4, 0.3, 0.2]]), np.array([2, 3, 0])


def test_sparse_accuracy_takes_the_first_of_tied_scores_as_keras():
    p, ids = _hand_rows()
    metric = get("metric", "sparse_categorical_accuracy")
    assert metric(p, ids) == 0.0  # argmaxes 1, 0 (first of four ties), 1
    assert metric(p, np.array([1, 0, 1])) == 1.0
    assert metric(p, np.array([[1], [0], [1]])) == metric(p, np.eye(4)[[1, 0, 1]]) == 1.0


@pytest.mark.parametrize("k, expected", [(1, [0, 1, 0]), (2, [1, 1, 0]), (3, [1, 1, 0]), (4, [1, 1, 1]), (9, [1, 1, 1])])
def test_top_k_counts_every_score_tied_at_the_boundary_and_all_classes_when_k_exceeds_them(k, expected):
    p, ids = _hand_rows()
    metric = get("metric", "top_k_categorical_accuracy", k=k)
    np.testing.assert_array_equal(metric.per_sample(p, np.eye(4)[ids]), expected)
    assert metric(p, np.eye(4)[ids]) == pytest.approx(np.mean(expected))
    assert metric(p, ids) == metric(p, np.eye(4)[ids])


def test_top_k_never_counts_a_nan_score():
    p = np.array([[np.nan, 0.2, 0.3], [0.5, np.nan, 0.1]])
    assert get("metric", "top_k_categorical_accuracy", k=2).per_sample(p, np.eye(3)[[0, 0]]).tolist() == [0.0, 1.0]


@pytest.mark.parametrize("k", [0, -1, 1.5, True, "2"])
def test_top_k_refuses_a_k_that_is_not_a_positive_integer(k):
    with pytest.raises(ValueError, match="k must be a positive integer"):
        get("metric", "top_k_categorical_accuracy", k=k)


@pytest.mark.parametrize("name", ["sparse_categorical_accuracy", "top_k_categorical_accuracy"])
def test_unknown_arguments_raise_type_error_naming_them(name):
    with pytest.raises(TypeError, match="threshold"):
        get("metric", name, threshold=0.5)


def test_fit_and_evaluate_report_both_metrics_as_computed_on_predictions():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 4))
    ids = rng.integers(0, 6, size=60)
    model = Sequential(seed=0, dtype="float64")
    model.add("dense", units=6, activation="softmax", input_size=(4,))
    model.compile("sparse_categorical_crossentropy", optimizer="sgd",
                  metrics=["sparse_categorical_accuracy", get("metric", "top_k_categorical_accuracy", k=3)])
    history = model.fit(X, ids, epochs=2, batch_size=16, validation_split=0.25, verbose=0)
    assert list(history.history) == ["loss", "sparse_categorical_accuracy", "top_k_categorical_accuracy", "val_loss",
                                     "val_sparse_categorical_accuracy", "val_top_k_categorical_accuracy"]
    p = model.predict(X)
    loss, accuracy, top3 = model.evaluate(X, ids)
    assert accuracy == pytest.approx(np.mean(np.argmax(p, axis=1) == ids))
    rank = np.sum(p > p[np.arange(60), ids][:, None], axis=1)  # scores strictly above the true class's
    assert top3 == pytest.approx(np.mean(rank < 3))
    assert mk.get("metric", "sparse_categorical_accuracy")(p, ids[:, None]) == pytest.approx(accuracy)
