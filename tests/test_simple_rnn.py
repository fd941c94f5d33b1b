"""SimpleRNN: Keras's outputs and gradients, a plain loop with dropout masks, BPTT by finite differences, models."""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import numpy as np
import pytest
from _layer_checks import built, check_gradients, check_skips_input_grad
from _recurrent import (
    check_dropout_trains_alike_in_parts,
    check_gradients_in_training,
)
from conftest import numerical_gradient

from minikeras_core import Sequential, get
from minikeras_core.datasets import load_digits
from minikeras_core.registry import REGISTRY

REFERENCE = json.loads((Path(__file__).parent / "data" / "keras" / "simple_rnn_reference.json").read_text())
ACTIVATIONS = {"tanh": np.tanh, "relu": lambda a: np.maximum(a, 0), "sigmoid": lambda a: 1 / (1 + np.exp(-a)), None: lambda a: a}

#: keras/src/layers/rnn/simple_rnn.py: SimpleRNN.__init__'s parameters in order, with their defaults.
KERAS_SIGNATURE = [
    ("units", inspect.Parameter.empty), ("activation", "tanh"), ("use_bias", True), ("kernel_initializer", "glorot_uniform"),
    ("recurrent_initializer", "orthogonal"), ("bias_initializer", "zeros"), ("kernel_regularizer", None),
    ("recurrent_regularizer", None), ("bias_regularizer", None), ("activity_regularizer", None), ("kernel_constraint", None),
    ("recurrent_constraint", None), ("bias_constraint", None), ("dropout", 0.0), ("recurrent_dropout", 0.0),
    ("return_sequences", False), ("return_state", False), ("go_backwards", False), ("stateful", False), ("unroll", False),
    ("seed", None),
]


def reference_loop(X, kernel, recurrent, bias, f, return_sequences, go_backwards, m=None, r=None, steps_mask=None):
    """One sample and one step at a time, written from the equations (dropout masks ``m``, ``r`` already scaled)."""
    n, steps, _ = X.shape
    out = np.zeros((n, steps, kernel.shape[1]))
    for b in range(n):
        h = np.zeros(kernel.shape[1])
        for k, t in enumerate(range(steps - 1, -1, -1) if go_backwards else range(steps)):
            x = X[b, t] if m is None else X[b, t] * m[b]
            if steps_mask is None or steps_mask[b, t]:  # a masked step keeps the state
                h = f(x @ kernel + (h if r is None else h * r[b]) @ recurrent + bias)
            out[b, k] = h
    return out if return_sequences else out[:, -1]


def test_registered_as_kerass_layer_with_kerass_signature():
    cls = REGISTRY.resolve("layer", "simple_rnn")
    assert cls is REGISTRY.resolve("layer", "SimpleRNN") and cls.__name__ == "SimpleRNN"
    assert cls is not REGISTRY.resolve("layer", "basic_rnn")
    from minikeras_core.layers import SimpleRNN

    assert SimpleRNN is cls
    parameters = list(inspect.signature(cls.__init__).parameters.values())[1:]
    assert [(p.name, p.default) for p in parameters[:-1]] == KERAS_SIGNATURE
    assert parameters[-1].kind is inspect.Parameter.VAR_KEYWORD


def _case_id(case: dict) -> str:
    return "-".join(f"{k}={v}" for k, v in case["kwargs"].items()) + ("-masked" if case["mask"] else "")


@pytest.mark.parametrize("case", REFERENCE["cases"], ids=_case_id)
def test_outputs_and_gradients_equal_kerass(case):
    """Keras 3 (torch backend, float64) with the same weights; gradients of sum(R * Y) by torch autograd."""
    X = np.array(case["X"])
    layer = built("simple_rnn", X.shape[1:], **case["kwargs"])
    layer.set_weights([np.array(w) for w in case["weights"]])
    mask = None if case["mask"] is None else np.array(case["mask"], dtype=bool)
    if mask is None:
        Y = layer.forward(X, training=True)
        dX = layer.backward(np.array(case["R"]))
    else:  # call itself, so that the test does not depend on how the model hands masks on
        Y = layer.call(X, True, mask=mask)
        dX = layer.call_backward(np.array(case["R"]))
    np.testing.assert_allclose(Y, np.array(case["Y"]), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dX, np.array(case["dX"]), rtol=1e-10, atol=1e-12)
    assert len(layer.grads) == len(case["dweights"])
    for (name, grad), expected, path in zip(layer.grads.items(), case["dweights"], case["weight_names"]):
        assert path.endswith(name)  # kernel, recurrent_kernel, bias: Keras's order and names
        np.testing.assert_allclose(grad, np.array(expected), rtol=1e-10, atol=1e-12, err_msg=name)
    f = ACTIVATIONS[case["kwargs"].get("activation", "tanh")]
    bias = layer.params.get("bias", np.zeros(layer.units))
    loop = reference_loop(X, layer.params["kernel"], layer.params["recurrent_kernel"], bias, f,
                          layer.return_sequences, layer.go_backwards, steps_mask=mask)
    np.testing.assert_allclose(Y, loop, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kwargs", [{}, {"return_sequences": True, "go_backwards": True}, {"activation": "softmax", "dropout": 0.3}])
def test_a_masked_step_keeps_the_state_and_gets_no_gradient(kwargs):
    rng = np.random.default_rng(3)
    layer = built("simple_rnn", (5, 3), units=4, **kwargs)
    layer.params["bias"][...] = 0.1 * rng.standard_normal(4)
    X = rng.standard_normal((3, 5, 3))
    mask = np.array([[0, 0, 1, 1, 1], [1, 0, 1, 1, 0], [1, 1, 1, 1, 1]], dtype=bool)
    G = rng.standard_normal((3,) + layer.output_shape)
    layer.call(X, True, mask=mask)
    dX = layer.call_backward(G)
    grads = {name: g.copy() for name, g in layer.grads.items()}

    def loss() -> float:
        return float(np.sum(G * layer.call(X, True, mask=mask)))

    np.testing.assert_allclose(dX, numerical_gradient(loss, X), rtol=1e-6, atol=1e-8)
    assert not dX[~mask].any()  # masked steps' inputs do not count
    for name, param in layer.params.items():
        np.testing.assert_allclose(grads[name], numerical_gradient(loss, param), rtol=1e-6, atol=1e-8, err_msg=name)
    assert (layer.compute_mask(X, mask) is mask) == layer.return_sequences


def test_leading_padding_masked_gives_the_unpadded_sequences_state():
    """pad_sequences pads in front: masked, the padding changes nothing, whatever its values."""
    rng = np.random.default_rng(4)
    layer = built("simple_rnn", (6, 2), units=3)
    tail = rng.standard_normal((1, 4, 2))
    padded = np.concatenate([rng.standard_normal((1, 2, 2)), tail], axis=1)
    alone = built("simple_rnn", (4, 2), units=3)
    alone.set_weights(layer.get_weights())
    mask = np.array([[False, False, True, True, True, True]])
    np.testing.assert_allclose(layer.call(padded, False, mask=mask), alone.forward(tail), rtol=1e-14)
    with pytest.raises(ValueError, match=r"mask must have shape \(batch, timesteps\)"):
        layer.call(padded, False, mask=mask[:, :4])


@pytest.mark.parametrize("kwargs", [
    {}, {"return_sequences": True}, {"go_backwards": True}, {"go_backwards": True, "return_sequences": True},
    {"activation": "relu", "use_bias": False}, {"activation": "softmax", "return_sequences": True},  # not element-wise
    {"activation": None},
])
def test_bptt_matches_finite_differences(kwargs):
    rng = np.random.default_rng(1)
    layer = built("simple_rnn", (4, 3), units=5, **kwargs)
    if "bias" in layer.params:
        layer.params["bias"][...] = 0.1 * rng.standard_normal(5)
    X = rng.standard_normal((2, 4, 3))
    check_gradients(layer, X)
    check_skips_input_grad(layer, X)


@pytest.mark.parametrize("rates", [(0.5, 0.0), (0.0, 0.4), (0.3, 0.6), (1.0, 0.5)])
def test_dropout_masks_are_one_per_sequence_and_train_exactly(rates):
    """Training output equals the plain loop with the masks drawn from the layer's noise; gradients by finite differences."""
    dropout, recurrent_dropout = rates
    rng = np.random.default_rng(2)
    layer = get("layer", "simple_rnn", units=4, dropout=dropout, recurrent_dropout=recurrent_dropout, return_sequences=True, seed=7)
    layer.build((5, 3), dtype="float64", rng=np.random.default_rng(0))
    layer.params["bias"][...] = 0.1 * rng.standard_normal(4)
    X = rng.standard_normal((3, 5, 3))
    u = layer.random_uniform((3, 3 + 4), 7)  # the same draw the layer makes outside fit
    m = (u[:, :3] >= dropout) / (1 - dropout) if dropout < 1 else np.zeros((3, 3))
    r = (u[:, 3:] >= recurrent_dropout) / (1 - recurrent_dropout)
    p = layer.params
    expected = reference_loop(X, p["kernel"], p["recurrent_kernel"], p["bias"], np.tanh, True, False, m, r)
    np.testing.assert_allclose(layer.forward(X, training=True), expected, rtol=1e-12, atol=1e-12)
    assert not np.allclose(layer.forward(X, training=False), expected)  # predicting uses no masks
    check_gradients_in_training(layer, X, rng)


def test_weights_order_shapes_and_initialisation():
    layer = built("simple_rnn", (7, 12), units=20, seed=3)
    assert [(k, v.shape) for k, v in layer.params.items()] == [("kernel", (12, 20)), ("recurrent_kernel", (20, 20)), ("bias", (20,))]
    U = layer.params["recurrent_kernel"]
    np.testing.assert_allclose(U.T @ U, np.eye(20), atol=1e-12)
    limit = np.sqrt(6.0 / (12 + 20))
    assert 0.8 * limit < np.abs(layer.params["kernel"]).max() <= limit and not layer.params["bias"].any()
    assert built("simple_rnn", (7, 12), units=20, use_bias=False).count_params() == 12 * 20 + 20 * 20


def test_float32_stays_float32():
    layer = built("simple_rnn", (4, 3), dtype="float32", units=5, dropout=0.2, recurrent_dropout=0.2, return_sequences=True)
    X = np.random.default_rng(4).standard_normal((2, 4, 3)).astype(np.float32)
    Y = layer.forward(X, training=True)
    dX = layer.backward(np.ones_like(Y))
    assert Y.dtype == dX.dtype == np.float32 and all(g.dtype == np.float32 for g in layer.grads.values())


def test_activation_belongs_to_the_recurrence():
    layer = get("layer", "simple_rnn", units=2, activation="relu")
    assert layer.activation is None and type(layer.cell_activation).__name__ == "ReLU"


@pytest.mark.parametrize("kwargs, message", [
    ({"units": 2, "return_state": True}, "return_state=True is not supported"),
    ({"units": 2, "stateful": True}, "stateful=True is not supported"),
    ({"units": 2, "kernel_regularizer": "l2"}, "kernel_regularizer='l2' is not supported"),
    ({"units": 0}, "units"),
    ({"units": 2.5}, "units"),
    ({"units": 2, "dropout": 1.5}, "dropout"),
    ({"units": 2, "seed": -3}, "seed"),
])
def test_what_it_cannot_do_is_refused_by_name(kwargs, message):
    with pytest.raises(ValueError, match=f"SimpleRNN: {message}"):
        get("layer", "simple_rnn", **kwargs)


def test_needs_sequences_and_says_so_at_add():
    model = Sequential()
    model.add("dense", units=4, input_shape=(6,))
    with pytest.raises(ValueError, match=r"SimpleRNN layer 'simple_rnn'.*\(4,\)"):
        model.add("simple_rnn", units=3)


def test_fit_with_dropout_in_parts_on_threads_equals_one_thread(use_parts, need_threads):
    check_dropout_trains_alike_in_parts(use_parts, lambda model: model.add("simple_rnn", units=8, dropout=0.3, recurrent_dropout=0.3,
                                                                          input_shape=(6, 4)))


def test_reading_digits_row_by_row_learns_the_ten_classes():
    X, y = load_digits()
    X = X / 16.0  # (n, 8, 8): 8 time steps of 8 features, one image row per step
    order = np.random.default_rng(0).permutation(len(X))
    train, test = order[: int(0.8 * len(X))], order[int(0.8 * len(X)) :]
    model = Sequential(seed=0)
    model.add("simple_rnn", units=64, input_shape=(8, 8))
    model.add("dense", units=10, activation="softmax")
    model.compile("categorical_crossentropy", optimizer=get("optimizer", "adam", learning_rate=0.005))
    model.fit(X[train], y[train], epochs=15, batch_size=64, verbose=0, seed=0)
    accuracy = np.mean(model.predict(X[test]).argmax(axis=-1) == y[test])
    assert accuracy >= 0.90


@pytest.mark.parametrize("load, limited", [(5.0, True), (0.2, False)])
def test_time_loops_hold_blas_to_one_thread_only_while_the_machine_is_busy(load, limited, monkeypatch, need_threads):
    from threadpoolctl import threadpool_info

    from minikeras_core import time_loop

    monkeypatch.setattr(time_loop.os, "getloadavg", lambda: (load, load, load))
    before = [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]
    with time_loop.one_blas_thread():
        inside = [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]
    assert inside == ([1] * len(before) if limited else before)
    assert [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"] == before


def test_a_recurrent_layer_whose_constructor_lacks_keras_s_arguments_is_told_which():
    from minikeras_core.recurrence import Recurrent

    class Partial(Recurrent):
        def __init__(self, units, activation="tanh", **kwargs):
            super().__init__(locals())

    with pytest.raises(TypeError, match=r"Partial: .*lack use_bias, .*seed, .*unroll"):
        Partial(3)
