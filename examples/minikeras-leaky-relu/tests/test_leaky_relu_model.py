"""The package's plugins are found by their string names and work in a model."""

import numpy as np

from minikeras_core import Sequential, get, list_plugins


def test_plugins_are_registered_by_this_distribution():
    assert "leaky_relu" in list_plugins("activation")
    assert "log_cosh" in list_plugins("loss")
    assert type(get("activation", "LeakyReLU")).__module__ == "minikeras_leaky_relu.leaky_relu"


def test_leaky_relu_values_match_keras_example():
    # keras.layers.LeakyReLU(negative_slope=0.5) on [-10, -5, 0, 5, 10] gives [-5, -2.5, 0, 5, 10]
    act = get("activation", "leaky_relu", negative_slope=0.5)
    np.testing.assert_array_equal(act(np.array([[-10.0, -5.0, 0.0, 5.0, 10.0]])), [[-5.0, -2.5, 0.0, 5.0, 10.0]])
    assert get("activation", "leaky_relu").negative_slope == 0.3  # Keras 3's default for the layer


def test_a_model_trains_with_both_plugins_by_name():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 3))
    y = X @ np.array([[1.0], [-2.0], [0.5]]) + 0.1  # a linear target a small network can fit
    model = Sequential(seed=0)
    model.add("dense", units=8, activation="leaky_relu", input_size=(3,))
    model.add("dense", units=1)
    model.compile("log_cosh", optimizer="sgd")
    assert type(model.layers[0].activation).__name__ == "LeakyReLU"
    before = model.evaluate(X, y)[0]
    history = model.fit(X, y, n_epochs=40, batch_size=16, learning_rate=0.1, verbose=0)
    after = model.evaluate(X, y)[0]
    assert np.all(np.isfinite(history.history["loss"]))
    assert after < 0.2 * before, (before, after)
