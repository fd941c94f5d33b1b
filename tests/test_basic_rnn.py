"""BasicRNN: forward against a plain loop, BPTT against finite differences, weights, errors, digits."""

from __future__ import annotations

import numpy as np
import pytest
from _layer_checks import built, check_gradients, check_skips_input_grad

from minikeras_core import Sequential, get
from minikeras_core.datasets import load_digits
from minikeras_core.registry import REGISTRY


def reference_rnn(X, W_x, W_h, b_h, W_y, b_y, hidden_activation, activation, return_sequences):
    """One sample and one step at a time, written from the equations."""
    outputs = np.zeros((len(X), X.shape[1], W_y.shape[1]))
    for b in range(len(X)):
        h = np.zeros(W_h.shape[0])
        for t in range(X.shape[1]):
            h = hidden_activation(X[b, t] @ W_x + h @ W_h + b_h)
            outputs[b, t] = activation(h @ W_y + b_y)
    return outputs if return_sequences else outputs[:, -1]


def _softmax(z):
    e = np.exp(z - z.max())
    return e / e.sum()


@pytest.mark.parametrize(
    "kwargs, hidden_f, out_f",
    [
        ({}, np.tanh, lambda z: z),
        ({"activation": "softmax", "return_sequences": False}, np.tanh, _softmax),
        ({"activation": "sigmoid", "hidden_activation": "relu"}, lambda a: np.maximum(a, 0), lambda z: 1 / (1 + np.exp(-z))),
    ],
)
def test_forward_matches_a_plain_loop(kwargs, hidden_f, out_f) -> None:
    rng = np.random.default_rng(0)
    layer = built("basic_rnn", (5, 3), output_units=4, hidden_units=6, **kwargs)
    for name in ("b_h", "b_y"):  # non-zero biases so that they are checked too
        layer.params[name][...] = rng.standard_normal(layer.params[name].shape)
    X = rng.standard_normal((3, 5, 3))
    p = layer.params
    expected = reference_rnn(X, p["W_x"], p["W_h"], p["b_h"], p["W_y"], p["b_y"], hidden_f, out_f, layer.return_sequences)
    Y = layer.forward(X)
    assert Y.shape[1:] == layer.output_shape
    np.testing.assert_allclose(Y, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"return_sequences": False},
        {"activation": "softmax"},
        {"activation": "softmax", "return_sequences": False},
        {"activation": "sigmoid", "hidden_activation": "sigmoid"},
        {"hidden_activation": "softmax", "return_sequences": False},  # a non-element-wise hidden activation
    ],
)
def test_gradients_match_finite_differences(kwargs) -> None:
    rng = np.random.default_rng(1)
    layer = built("basic_rnn", (4, 3), output_units=3, hidden_units=5, **kwargs)
    for name in ("b_h", "b_y"):
        layer.params[name][...] = 0.1 * rng.standard_normal(layer.params[name].shape)
    check_gradients(layer, rng.standard_normal((2, 4, 3)))


def test_single_step_gradients() -> None:
    layer = built("basic_rnn", (1, 2), output_units=2, hidden_units=3)
    check_gradients(layer, np.random.default_rng(2).standard_normal((3, 1, 2)))


def test_first_layer_may_skip_the_input_gradient() -> None:
    layer = built("basic_rnn", (4, 3), output_units=2, hidden_units=5, return_sequences=False)
    check_skips_input_grad(layer, np.random.default_rng(8).standard_normal((2, 4, 3)))


def test_weights_order_shapes_and_initialisation() -> None:
    layer = built("basic_rnn", (7, 12), output_units=10, hidden_units=20, seed=3)
    assert [(k, v.shape) for k, v in layer.params.items()] == [
        ("W_x", (12, 20)),
        ("W_h", (20, 20)),
        ("b_h", (20,)),
        ("W_y", (20, 10)),
        ("b_y", (10,)),
    ]
    W_h = layer.params["W_h"]
    np.testing.assert_allclose(W_h.T @ W_h, np.eye(20), atol=1e-12)
    assert not layer.params["b_h"].any() and not layer.params["b_y"].any()
    for name, (fan_in, fan_out) in {"W_x": (12, 20), "W_y": (20, 10)}.items():
        limit = np.sqrt(6.0 / (fan_in + fan_out))
        assert np.abs(layer.params[name]).max() <= limit
        assert np.abs(layer.params[name]).max() > 0.8 * limit
    assert layer.count_params() == 12 * 20 + 20 * 20 + 20 + 20 * 10 + 10


def test_float32_stays_float32() -> None:
    layer = built("basic_rnn", (4, 3), dtype="float32", output_units=2, hidden_units=5, activation="softmax")
    X = np.random.default_rng(4).standard_normal((2, 4, 3)).astype(np.float32)
    Y = layer.forward(X, training=True)
    dX = layer.backward(np.ones_like(Y))
    assert Y.dtype == dX.dtype == np.float32
    assert all(g.dtype == np.float32 for g in layer.grads.values())


def test_none_activations_are_linear() -> None:
    layer = built("basic_rnn", (3, 2), output_units=2, hidden_units=3, hidden_activation=None)
    X = np.random.default_rng(9).standard_normal((2, 3, 2))
    p = layer.params
    expected = reference_rnn(X, p["W_x"], p["W_h"], p["b_h"], p["W_y"], p["b_y"], lambda a: a, lambda z: z, True)
    np.testing.assert_allclose(layer.forward(X), expected, rtol=1e-12, atol=1e-12)
    check_gradients(layer, X)


def test_names_and_keeping_its_own_activations() -> None:
    assert REGISTRY.resolve("layer", "BasicRNN") is REGISTRY.resolve("layer", "basic_rnn")
    # simple_rnn is Keras's SimpleRNN now (tests/test_simple_rnn.py), no longer another name of this layer
    assert REGISTRY.resolve("layer", "simple_rnn").__name__ == "SimpleRNN"
    layer = get("layer", "basic_rnn", output_units=2, hidden_units=3, activation="softmax")
    # the output activation is the layer's own, applied by the base class; the hidden one belongs to the recurrence
    assert type(layer.activation).__name__ == "Softmax" and type(layer.hidden_activation).__name__ == "Tanh"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"output_units": 0, "hidden_units": 3},
        {"output_units": 2, "hidden_units": -1},
        {"output_units": 2.0, "hidden_units": 3},
    ],
)
def test_bad_arguments_raise_value_error_naming_them(kwargs) -> None:
    with pytest.raises(ValueError, match="BasicRNN"):
        get("layer", "basic_rnn", **kwargs)


def test_unknown_activation_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="swoosh"):
        get("layer", "basic_rnn", output_units=2, hidden_units=3, hidden_activation="swoosh")


def test_rnn_after_a_flat_output_fails_at_add_naming_the_layer() -> None:
    model = Sequential()
    model.add("dense", units=4, input_size=(6,))
    with pytest.raises(ValueError, match=r"BasicRNN layer 'basic_rnn'.*\(4,\)"):
        model.add("basic_rnn", output_units=2, hidden_units=3)


def test_flatten_and_dense_follow_the_sequence_output() -> None:
    model = Sequential(seed=0)
    model.add("basic_rnn", output_units=4, hidden_units=5, input_size=(6, 3))
    assert model.add("flatten").output_shape == (24,)
    model.add("dense", units=2, activation="softmax")
    model.compile("categorical_cross_entropy")
    history = model.fit(np.random.default_rng(5).standard_normal((8, 6, 3)), np.arange(8) % 2, n_epochs=2, verbose=0)
    assert np.isfinite(history.history["loss"]).all()


def test_rnn_reading_digits_row_by_row_learns_the_ten_classes() -> None:
    X, y = load_digits()
    X = X / 16.0  # (n, 8, 8): 8 time steps of 8 features, one image row per step
    order = np.random.default_rng(0).permutation(len(X))
    train, test = order[: int(0.8 * len(X))], order[int(0.8 * len(X)) :]
    model = Sequential(seed=0)
    model.add("basic_rnn", output_units=10, hidden_units=64, activation="softmax", return_sequences=False, input_size=(8, 8))
    model.compile("categorical_cross_entropy", optimizer=get("optimizer", "sgd", learning_rate=0.05, momentum=0.9))
    model.fit(X[train], y[train], n_epochs=30, batch_size=64, verbose=0, seed=0)
    accuracy = np.mean(model.predict(X[test]).argmax(axis=-1) == y[test])
    assert accuracy >= 0.90
