"""The Sequential workflow: add, summary, compile, fit, evaluate, predict, dtypes and seeds."""

from __future__ import annotations

import numpy as np
import pytest

import minikeras_core
from minikeras_core import Sequential, get
from minikeras_core.datasets import load_digits
from minikeras_core.registry import REGISTRY

Dense = REGISTRY.resolve("layer", "dense")
Flatten = REGISTRY.resolve("layer", "flatten")
Sigmoid = REGISTRY.resolve("activation", "sigmoid")
BinaryCrossEntropy = REGISTRY.resolve("loss", "binary_cross_entropy")
GradientDescentOptimizer = REGISTRY.resolve("optimizer", "sgd")


def _digits(n_class=10, seed=0):
    X, y = load_digits(n_class=n_class)
    order = np.random.default_rng(seed).permutation(len(X))
    return X[order] / 16.0, y[order]


def test_load_digits_shapes_and_values():
    X, y = load_digits()
    assert X.shape == (1797, 8, 8) and y.shape == (1797,)
    assert X.min() == 0 and X.max() == 16 and set(np.unique(y)) == set(range(10))
    X2, y2 = load_digits(n_class=2)
    assert X2.shape == (360, 8, 8) and set(np.unique(y2)) == {0, 1}
    with pytest.raises(ValueError, match="n_class"):
        load_digits(n_class=11)


def test_original_readme_example_with_dense_in_place_of_conv2d(capsys):
    X, y = load_digits(n_class=2)
    X = (X / 16.0).reshape(-1, 8, 8, 1)
    y = y.reshape(-1, 1)

    model = Sequential(seed=0)
    model.add(Flatten, input_size=(8, 8, 1))
    model.add(Dense, units=4, activation=Sigmoid())
    model.add(Dense, units=1, activation=Sigmoid())
    model.summary()
    model.compile(BinaryCrossEntropy())
    initial = model.evaluate(X, y)[0]
    model.fit(X, y, n_epochs=100, batch_size=300, learning_rate=0.003, optimizer=GradientDescentOptimizer(), verbose=1)
    final = model.evaluate(X, y)[0]
    assert final < initial
    assert "Total params" in capsys.readouterr().out


def test_add_takes_names_classes_and_instances_and_builds_at_once():
    model = Sequential()
    model.add("dense", units=5, activation="relu", input_size=(3,))
    model.add(Dense, units=4, activation=Sigmoid())
    model.add(Dense(units=2, activation="softmax"))
    assert [type(layer).__name__ for layer in model.layers] == ["Dense", "Dense", "Dense"]
    assert [layer.name for layer in model.layers] == ["dense", "dense_1", "dense_2"]
    assert [layer.output_shape for layer in model.layers] == [(5,), (4,), (2,)]
    assert type(model.layers[1].activation).__name__ == "Sigmoid"
    assert model.count_params() == (3 * 5 + 5) + (5 * 4 + 4) + (4 * 2 + 2)


def test_without_an_input_shape_the_model_builds_on_its_first_data_as_keras():
    model = Sequential(seed=0)
    model.add("dense", units=2)
    assert not model.built
    with pytest.raises(ValueError, match="not built yet.*input_shape"):
        model.summary()
    model.compile("categorical_cross_entropy")
    model.fit(np.zeros((4, 3)), np.array([0, 1, 0, 1]), verbose=0)
    assert model.built and model.input_shape == (3,) and model.layers[0].params["kernel"].shape == (3, 2)


def test_summary_prints_names_shapes_and_counts(capsys):
    model = Sequential()
    model.add("flatten", input_size=(4, 4, 1))
    model.add("dense", units=3, activation="softmax")
    model.summary()
    out = capsys.readouterr().out
    assert "flatten (Flatten)" in out and "(None, 16)" in out
    assert "dense (Dense)" in out and "(None, 3)" in out and "51" in out
    assert "Total params: 51" in out


def test_fit_before_compile_is_an_error():
    model = Sequential()
    model.add("dense", units=1, input_size=(2,))
    with pytest.raises(ValueError, match="compile"):
        model.fit(np.zeros((4, 2)), np.zeros((4, 1)))


def test_compile_defaults_to_sgd_and_fit_returns_the_loss_per_epoch():
    X, y = _digits(n_class=2)
    model = Sequential(seed=1)
    model.add("flatten", input_size=(8, 8))
    model.add("dense", units=1, activation="sigmoid")
    model.compile("binary_crossentropy")
    assert type(model.optimizer).__name__ == "GradientDescentOptimizer"
    assert model.optimizer.learning_rate == 0.01
    history = model.fit(X, y, n_epochs=5, batch_size=32, verbose=0)
    losses = history.history["loss"]
    assert len(losses) == 5 and losses[-1] < losses[0]


def test_learning_rate_argument_sets_the_rate_and_state_carries_over():
    X, y = _digits(n_class=2)
    model = Sequential(seed=2)
    model.add("flatten", input_size=(8, 8))
    model.add("dense", units=1, activation="sigmoid")
    model.compile("binary_cross_entropy", optimizer=get("optimizer", "sgd", momentum=0.9))
    optimizer = model.optimizer
    model.fit(X, y, n_epochs=1, batch_size=60, learning_rate=0.05, verbose=0)
    assert optimizer.learning_rate == 0.05 and optimizer.iterations == 6
    velocity = optimizer.state[0]["velocity"].copy()
    assert np.any(velocity)
    model.fit(X, y, n_epochs=1, batch_size=60, verbose=0)
    assert model.optimizer is optimizer and optimizer.iterations == 12


def test_fit_matches_a_hand_written_gradient_step():
    """One full-batch step of a 1-unit sigmoid model equals w - lr * X^T (p - y) / n."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(6, 3))
    y = rng.integers(0, 2, size=(6, 1)).astype(float)
    model = Sequential(dtype="float64", seed=0)
    model.add("dense", units=1, activation="sigmoid", input_size=(3,))
    model.compile("binary_cross_entropy", optimizer="sgd")
    w, b = model.get_weights()
    p = 1 / (1 + np.exp(-(X @ w + b)))
    model.fit(X, y, n_epochs=1, batch_size=6, learning_rate=0.5, shuffle=False, verbose=0)
    w_new, b_new = model.get_weights()
    np.testing.assert_allclose(w_new, w - 0.5 * X.T @ (p - y) / 6, rtol=1e-12)
    np.testing.assert_allclose(b_new, b - 0.5 * (p - y).sum(0) / 6, rtol=1e-12)


def test_evaluate_returns_a_tuple_and_predict_works_in_chunks():
    X, y = _digits(n_class=3)
    model = Sequential(seed=3)
    model.add("flatten", input_size=(8, 8))
    model.add("dense", units=3, activation="softmax")
    model.compile("categorical_cross_entropy")
    result = model.evaluate(X, y)
    assert isinstance(result, tuple) and result[0] > 0
    full = model.predict(X, batch_size=len(X))
    chunked = model.predict(X, batch_size=7)
    np.testing.assert_allclose(chunked, full, rtol=1e-6)
    assert full.shape == (len(X), 3) and full.dtype == np.float32
    one_hot = np.eye(3)[y]
    assert model.evaluate(X, one_hot)[0] == pytest.approx(result[0], rel=1e-6)


def test_inputs_are_cast_to_the_model_dtype():
    model = Sequential(dtype="float64")
    model.add("dense", units=2, input_size=(3,))
    out = model.predict(np.arange(6, dtype=np.int64).reshape(2, 3))
    assert out.dtype == np.float64
    assert model.layers[0].params["kernel"].dtype == np.float64


def test_set_floatx_changes_the_default_dtype():
    assert minikeras_core.floatx() == "float32"
    minikeras_core.set_floatx("float64")
    try:
        model = Sequential()
        model.add("dense", units=2, input_size=(3,))
        assert model.predict(np.ones((1, 3), dtype=np.float32)).dtype == np.float64
    finally:
        minikeras_core.set_floatx("float32")
    with pytest.raises(ValueError, match="dtype"):
        minikeras_core.set_floatx("int8")


def test_a_seed_makes_initialisation_and_training_reproducible():
    X, y = _digits(n_class=2)

    def train(seed):
        model = Sequential(seed=seed)
        model.add("flatten", input_size=(8, 8))
        model.add("dense", units=4, activation="tanh")
        model.add("dense", units=1, activation="sigmoid")
        model.compile("binary_cross_entropy")
        model.fit(X, y, n_epochs=2, batch_size=16, verbose=0)
        return model.get_weights()

    first, again, other = train(5), train(5), train(6)
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[0], other[0])


def test_softmax_and_cross_entropy_train_stably_when_saturated():
    model = Sequential(seed=0)
    model.add("dense", units=3, activation="softmax", input_size=(2,))
    model.compile("categorical_cross_entropy", optimizer="sgd")
    model.layers[0].params["kernel"][...] = [[50.0, -50.0, 0.0], [0.0, 0.0, 0.0]]  # saturated (p ~ e^-100), and wrong
    X = np.array([[1.0, 0.0], [1.0, 1.0]])
    y = np.array([1, 1])
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        history = model.fit(X, y, n_epochs=20, batch_size=2, learning_rate=5.0, verbose=0)
    assert np.all(np.isfinite(model.get_weights()[0]))
    assert history.history["loss"][0] > 16 and history.history["loss"][-1] < 0.1


def test_dense_softmax_reaches_95_percent_on_held_out_digits():
    X, y = _digits(seed=42)
    X = X.reshape(len(X), 64)
    split = int(0.8 * len(X))
    model = Sequential(seed=0)
    model.add("dense", units=10, activation="softmax", input_size=(64,))
    model.compile("categorical_cross_entropy", optimizer=get("optimizer", "sgd", momentum=0.9))
    model.fit(X[:split], y[:split], n_epochs=40, batch_size=32, learning_rate=0.05, verbose=0, seed=0)
    accuracy = np.mean(model.predict(X[split:]).argmax(axis=1) == y[split:])
    assert accuracy >= 0.95, accuracy
