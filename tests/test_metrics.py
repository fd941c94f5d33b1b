"""Metric plugins, compile(metrics=...), and how fit and evaluate report them."""

from __future__ import annotations

import math

import numpy as np
import pytest

import minikeras_core as mk
from minikeras_core import Metric
from minikeras_core.engine import step


def loop_accuracy_binary(p, y, threshold=0.5):
    hits = [float((pi > threshold) == bool(yi)) for pi, yi in zip(p.ravel(), y.ravel())]
    return sum(hits) / len(hits)


def loop_argmax_accuracy(p, ids):
    hits = [float(max(range(len(row)), key=lambda j: row[j]) == c) for row, c in zip(p.tolist(), ids)]
    return sum(hits) / len(hits)


def test_the_five_metrics_are_registered_under_minikeras_metrics():
    names = mk.list_plugins("metric")
    for name in ("accuracy", "binary_accuracy", "categorical_accuracy", "mse", "mean_squared_error", "mae", "mean_absolute_error"):
        assert name in names
        assert isinstance(mk.get("metric", name), Metric)
    assert mk.get("metric", "accuracy").name == "accuracy"
    assert mk.get("metric", "mse", name="mse").name == "mse"


def test_accuracy_chooses_binary_or_categorical_from_the_last_dimension():
    rng = np.random.default_rng(0)
    accuracy = mk.get("metric", "accuracy")
    p1 = rng.uniform(size=(20, 1))
    y1 = rng.integers(0, 2, size=(20, 1)).astype(float)
    assert accuracy(p1, y1) == pytest.approx(loop_accuracy_binary(p1, y1))
    assert accuracy(p1, y1[:, 0]) == pytest.approx(loop_accuracy_binary(p1, y1))  # (n,) targets for one unit
    p3 = rng.uniform(size=(20, 3))
    ids = rng.integers(0, 3, size=20)
    expected = loop_argmax_accuracy(p3, ids)
    assert accuracy(p3, ids) == pytest.approx(expected)
    assert accuracy(p3, np.eye(3)[ids]) == pytest.approx(expected)
    assert mk.get("metric", "categorical_accuracy")(p3, ids) == pytest.approx(expected)
    assert mk.get("metric", "categorical_accuracy")(p3, np.eye(3)[ids]) == pytest.approx(expected)


def test_binary_accuracy_mse_mae_against_loops():
    rng = np.random.default_rng(1)
    p = rng.uniform(size=(7, 2))
    y = rng.integers(0, 2, size=(7, 2)).astype(float)
    assert mk.get("metric", "binary_accuracy")(p, y) == pytest.approx(loop_accuracy_binary(p, y))
    assert mk.get("metric", "binary_accuracy", threshold=0.8)(p, y) == pytest.approx(loop_accuracy_binary(p, y, 0.8))
    sq = [sum((a - b) ** 2 for a, b in zip(pr, yr)) / 2 for pr, yr in zip(p.tolist(), y.tolist())]
    ab = [sum(abs(a - b) for a, b in zip(pr, yr)) / 2 for pr, yr in zip(p.tolist(), y.tolist())]
    assert mk.get("metric", "mse")(p, y) == pytest.approx(sum(sq) / 7)
    assert mk.get("metric", "mae")(p, y) == pytest.approx(sum(ab) / 7)
    with pytest.raises(ValueError, match=r"MeanSquaredError: y_true has shape \(7, 3\)"):
        mk.get("metric", "mse")(p, np.zeros((7, 3)))


def binary_model(metrics, seed=0):
    model = mk.Sequential(seed=seed, dtype="float64")
    model.add("dense", units=4, activation="tanh", input_size=(3,))
    model.add("dense", units=1, activation="sigmoid")
    model.compile("binary_cross_entropy", optimizer="sgd", metrics=metrics)
    return model


def test_evaluate_returns_loss_then_metrics_in_the_order_given():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(30, 3))
    y = (X[:, 0] > 0).astype(float)
    model = binary_model(["mae", mk.get("metric", "binary_accuracy"), "accuracy", "mse"])
    p = model.predict(X)
    loss, mae, bacc, acc, mse = model.evaluate(X, y, batch_size=7)
    bce = -np.mean(y * np.log(p[:, 0]) + (1 - y) * np.log(1 - p[:, 0]))
    assert loss == pytest.approx(bce)
    assert mae == pytest.approx(np.mean(np.abs(p[:, 0] - y)))
    assert bacc == pytest.approx(loop_accuracy_binary(p, y)) and acc == pytest.approx(bacc)
    assert mse == pytest.approx(np.mean((p[:, 0] - y) ** 2))
    as_dict = model.evaluate(X, y, return_dict=True)
    assert list(as_dict) == ["loss", "mae", "binary_accuracy", "accuracy", "mse"]


def test_fit_logs_metrics_and_validation_figures_from_the_last_fraction():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(25, 3))
    y = (X[:, 1] > 0).astype(float)
    model = binary_model(["accuracy"])
    history = model.fit(X, y, epochs=2, batch_size=4, validation_split=0.2, verbose=0)
    assert list(history.history) == ["loss", "accuracy", "val_loss", "val_accuracy"]
    cut = math.ceil(25 * 0.8)  # Keras: the last 20% of the samples as given, before shuffling
    val_loss, val_acc = model.evaluate(X[cut:], y[cut:])
    assert history.history["val_loss"][-1] == pytest.approx(val_loss, rel=1e-12)
    assert history.history["val_accuracy"][-1] == pytest.approx(val_acc)
    # validation_data takes precedence over the split and is evaluated as given
    history = model.fit(X[:10], y[:10], epochs=1, validation_data=(X[10:], y[10:]), validation_split=0.5, verbose=0)
    assert history.history["val_loss"][-1] == pytest.approx(model.evaluate(X[10:], y[10:])[0], rel=1e-12)


def test_training_metric_is_the_sample_weighted_mean_of_its_batches():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(10, 3))
    y = (X[:, 2] > 0).astype(float)
    model = binary_model(["mse"])
    before = model.get_weights()
    batches = []

    class Keep(mk.Callback):
        def on_batch_begin(self, model, batch, logs):
            batches.append(model.predict(X[4 * batch : 4 * batch + 4]))

    history = model.fit(X, y, epochs=1, batch_size=4, shuffle=False, verbose=0, callbacks=[Keep()])
    # batches of 4, 4, 2: each batch's mse is computed on the outputs before its own step
    per_batch = [np.mean((p[:, 0] - y[4 * i : 4 * i + len(p)]) ** 2) * len(p) for i, p in enumerate(batches)]
    assert history.history["mse"][0] == pytest.approx(sum(per_batch) / 10, rel=1e-12)
    assert not np.allclose(before[0], model.get_weights()[0])


def test_integer_class_ids_and_one_hot_rows_train_identically():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(18, 4))
    ids = rng.integers(0, 3, size=18)

    def build():
        model = mk.Sequential(seed=0, dtype="float64")
        model.add("dense", units=3, activation="softmax", input_size=(4,))
        model.compile("categorical_cross_entropy", optimizer="sgd", metrics=["accuracy", "categorical_accuracy", "mse"])
        return model

    a, b = build(), build()
    ha = a.fit(X, ids, epochs=3, batch_size=5, validation_split=0.3, verbose=0, seed=1)
    hb = b.fit(X, np.eye(3)[ids], epochs=3, batch_size=5, validation_split=0.3, verbose=0, seed=1)
    assert ha.history == hb.history
    assert a.evaluate(X, ids) == b.evaluate(X, np.eye(3)[ids])


def test_a_metric_registered_in_code_is_found_by_name():
    class TrueRate(Metric):
        direction = "up"

        def per_sample(self, y_pred, y_true):
            return y_true[..., 0]

    mk.register("metric", "true_rate", TrueRate, override=True)
    try:
        model = binary_model(["true_rate"])
        X = np.zeros((4, 3))
        y = np.array([1.0, 0.0, 1.0, 1.0])
        assert model.evaluate(X, y)[1] == pytest.approx(0.75)
    finally:
        mk.registry.REGISTRY.unregister("metric", "true_rate")
    with pytest.raises(ValueError, match="distinct"):
        model.compile("binary_cross_entropy", metrics=["mse", "mse"])


def test_predict_reads_a_memmap_one_chunk_at_a_time(tmp_path, monkeypatch):
    rng = np.random.default_rng(6)
    data = np.lib.format.open_memmap(tmp_path / "big.npy", mode="w+", dtype=np.float64, shape=(50, 3))
    data[:] = rng.normal(size=(50, 3))
    data.flush()
    X = np.load(tmp_path / "big.npy", mmap_mode="r")
    model = mk.Sequential(seed=0)  # float32: each chunk is cast on its own, never the whole array
    model.add("dense", units=2, activation="sigmoid", input_size=(3,))
    sizes = []
    forward = step.forward

    def spy(layers, batch, training=False):
        assert isinstance(batch, np.ndarray) and not isinstance(batch, np.memmap) and batch.dtype == np.float32
        sizes.append(len(batch))
        return forward(layers, batch, training)

    monkeypatch.setattr(step, "forward", spy)
    out = model.predict(X, batch_size=16)
    # chunks of 16 (16, 16, 16, 2), each maybe cut into parts that run on threads (any order)
    assert max(sizes) <= 16 and sum(sizes) == 50
    kernel, bias = model.layers[0].params["kernel"], model.layers[0].params["bias"]
    expected = 1 / (1 + np.exp(-(np.asarray(X, dtype=np.float32) @ kernel + bias)))
    np.testing.assert_allclose(out, expected, rtol=1e-6)


def test_seed_makes_shuffling_reproducible_and_shuffle_false_keeps_the_order(monkeypatch):
    rng = np.random.default_rng(7)
    X = rng.normal(size=(12, 3))
    y = (X[:, 0] > 0).astype(float)
    runs = []
    for _ in range(2):
        model = binary_model([], seed=0)
        runs.append(model.fit(X, y, epochs=3, batch_size=5, seed=11, verbose=0).history["loss"])
    assert runs[0] == runs[1]
    other = binary_model([], seed=0).fit(X, y, epochs=3, batch_size=5, seed=12, verbose=0).history["loss"]
    assert other != runs[0]
    # unshuffled: batch k holds samples 5k.. in order
    batches = []
    train_step = step.train_step

    def spy(layers, loss, X_batch, y_batch, scale=1.0, noise=None):
        batches.append(X_batch.copy())
        return train_step(layers, loss, X_batch, y_batch, scale, noise)

    monkeypatch.setattr(step, "train_step", spy)
    binary_model([], seed=0).fit(X, y, epochs=1, batch_size=5, shuffle=False, verbose=0)
    np.testing.assert_array_equal(np.concatenate(batches), X)
    assert [len(b) for b in batches] == [5, 5, 2]
