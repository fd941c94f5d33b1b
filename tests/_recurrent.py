"""What the recurrent layers' tests share: Keras 3's stored cases and the check against them, a mask of steps,
gradients of a training pass by central differences, a toy IMDB-like dataset and what a model learns of it,
and training in parts on threads against one thread."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from _layer_checks import built
from conftest import numerical_gradient

import minikeras_core as mk
from minikeras_core import Sequential, get
from minikeras_core.engine import step

REFERENCE = json.loads((Path(__file__).parent / "data" / "keras" / "rnn_layers_reference.json").read_text())
MASK = np.array([[0, 0, 1, 1, 1], [1, 0, 1, 1, 0], [1, 1, 1, 1, 1]], dtype=bool)


def keras_cases(layer: str) -> list[dict]:
    """The stored Keras 3 cases of ``layer`` ("LSTM", "GRU", "Bidirectional", "Embedding" or "model")."""
    return [case for case in REFERENCE["cases"] if case["layer"] == layer]


def case_id(case: dict) -> str:
    return "-".join(f"{k}={v}" for k, v in case["kwargs"].items()) + ("-masked" if case["mask"] else "")


def check_against_keras(case: dict) -> None:
    """Our layer with Keras's weights: output, input gradient and weight gradients (names and order too) at 1e-6 and better."""
    X, R = np.array(case["X"]), np.array(case["R"])
    if case["layer"] == "model":  # Embedding(mask_zero=True) and a recurrent layer: the mask goes as fit passes it
        kwargs = dict(case["kwargs"])
        model = Sequential(dtype="float64")
        model.add("embedding", input_dim=7, output_dim=4, mask_zero=True, input_shape=X.shape[1:])
        model.add(kwargs.pop("recurrent").lower(), **kwargs)
        layers, dX = model.flat_layers, None
        model.set_weights([np.array(w) for w in case["weights"]])
        Y = step.forward(layers, X.astype(float), training=True)
        grad = R
        for layer in reversed(layers):
            grad = layer.backward(grad)
        grads = [(name, g) for layer in layers for name, g in layer.grads.items()]
    else:
        layer = built(case["layer"].lower(), X.shape[1:], **case["kwargs"])
        layer.set_weights([np.array(w) for w in case["weights"]])
        mask = None if case["mask"] is None else np.array(case["mask"], dtype=bool)
        if mask is None:
            Y = layer.forward(X, training=True)
            dX = layer.backward(R)
        else:  # call itself, so that the test does not depend on how the model hands masks on
            Y = layer.call(X, True, mask=mask)
            dX = layer.call_backward(R)
        grads = list(layer.grads.items())
    np.testing.assert_allclose(Y, np.array(case["Y"]), rtol=1e-9, atol=1e-12)
    if case["dX"] is not None:
        np.testing.assert_allclose(dX, np.array(case["dX"]), rtol=1e-9, atol=1e-12)
    assert len(grads) == len(case["dweights"])
    for (name, grad), expected, path in zip(grads, case["dweights"], case["weight_paths"]):
        assert path.split("/")[-1] == name.split("/")[-1]  # kernel, recurrent_kernel, bias: Keras's names and order
        np.testing.assert_allclose(grad, np.array(expected), rtol=1e-9, atol=1e-12, err_msg=name)


def sigmoid(a):
    return 1 / (1 + np.exp(-a))


def check_gradients_in_training(layer, X, rng):
    """Gradients of a training forward (its dropout masks fixed outside fit) by central differences."""
    G = rng.standard_normal((len(X),) + layer.output_shape)
    layer.forward(X, training=True)
    dX = layer.backward(G)
    grads = {name: g.copy() for name, g in layer.grads.items()}

    def loss() -> float:
        return float(np.sum(G * layer.forward(X, training=True)))

    np.testing.assert_allclose(dX, numerical_gradient(loss, X), rtol=1e-6, atol=1e-8)
    for name, param in layer.params.items():
        np.testing.assert_allclose(grads[name], numerical_gradient(loss, param), rtol=1e-6, atol=1e-8, err_msg=name)


def toy_reviews(n: int, seed: int) -> tuple:
    """IMDB-like sequences of 20 ids (7, 9 and 10..49) padded in front with zeros (up to 8); positive when 7 comes before 9."""
    rng = np.random.default_rng(seed)
    X = rng.integers(10, 50, (n, 20))
    y = rng.integers(0, 2, n)
    first, second = rng.integers(8, 14, n), rng.integers(14, 20, n)
    X[np.arange(n), np.where(y == 1, first, second)] = 7
    X[np.arange(n), np.where(y == 1, second, first)] = 9
    lengths = rng.integers(12, 21, n)
    X[np.arange(20) < (20 - lengths)[:, None]] = 0
    return X, y


def check_learns_toy_reviews_and_reloads(model: Sequential, tmp_path, epochs: int) -> None:
    """``model`` (ids of ``toy_reviews`` in, one sigmoid out) reaches 0.9 test accuracy, and its saved file predicts as it does."""
    X, y = toy_reviews(600, 0)
    X_test, y_test = toy_reviews(200, 1)
    model.compile("binary_crossentropy", optimizer=get("optimizer", "adam", learning_rate=0.01), metrics=["accuracy"])
    model.fit(X, y, epochs=epochs, batch_size=32, verbose=0, seed=0)
    assert model.evaluate(X_test, y_test)[1] >= 0.9
    model.save(tmp_path / "toy.mk")
    restored = mk.load_model(tmp_path / "toy.mk")
    np.testing.assert_array_equal(restored.predict(X_test), model.predict(X_test))  # what was trained is what was saved


def check_dropout_trains_alike_in_parts(use_parts, add_recurrent) -> None:
    """A model whose recurrent layer (added by ``add_recurrent(model)``, input ``(6, 4)``) has dropout trains to the same
    weights with its batches in parts on threads as on one thread: the masks do not depend on the parts."""
    rng = np.random.default_rng(6)
    X, y = rng.standard_normal((48, 6, 4)), rng.integers(0, 3, 48)
    results = []
    for threads in (False, True):
        use_parts(threads)
        model = Sequential(seed=0, dtype="float64")
        add_recurrent(model)
        model.add("dense", units=3, activation="softmax")
        model.compile("categorical_crossentropy", optimizer="adam")
        model.fit(X, y, epochs=2, batch_size=24, verbose=0, seed=1)
        results.append(model.get_weights())
    for a, b in zip(*results):
        np.testing.assert_allclose(b, a, rtol=1e-10, atol=1e-13)
