"""LSTM: Keras's outputs and gradients, a plain loop with dropout masks and masks of steps, BPTT by finite differences, models.

The helpers shared with the GRU, Bidirectional and Embedding tests are in ``_recurrent.py``.
"""

from __future__ import annotations

import inspect

import numpy as np
import pytest
from _layer_checks import built, check_gradients, check_skips_input_grad
from _recurrent import (
    MASK,
    case_id,
    check_against_keras,
    check_dropout_trains_alike_in_parts,
    check_gradients_in_training,
    check_learns_toy_reviews_and_reloads,
    keras_cases,
    sigmoid,
)
from conftest import numerical_gradient

import minikeras_core as mk
from minikeras_core import Sequential, get
from minikeras_core.registry import REGISTRY

#: keras/src/layers/rnn/lstm.py: LSTM.__init__'s parameters in order, with their defaults.
KERAS_SIGNATURE = [
    ("units", inspect.Parameter.empty), ("activation", "tanh"), ("recurrent_activation", "sigmoid"), ("use_bias", True),
    ("kernel_initializer", "glorot_uniform"), ("recurrent_initializer", "orthogonal"), ("bias_initializer", "zeros"),
    ("unit_forget_bias", True), ("kernel_regularizer", None), ("recurrent_regularizer", None), ("bias_regularizer", None),
    ("activity_regularizer", None), ("kernel_constraint", None), ("recurrent_constraint", None), ("bias_constraint", None),
    ("dropout", 0.0), ("recurrent_dropout", 0.0), ("seed", None), ("return_sequences", False), ("return_state", False),
    ("go_backwards", False), ("stateful", False), ("unroll", False), ("use_cudnn", "auto"),
]


def lstm_loop(X, kernel, recurrent, bias, go_backwards=False, m=None, r=None, steps_mask=None):
    """Every state, one sample and one step at a time from the equations; ``m``, ``r``: dropout masks per gate (i, f, c, o)."""
    n, steps, _ = X.shape
    u = recurrent.shape[0]
    out = np.zeros((n, steps, u))
    for b in range(n):
        h, c = np.zeros(u), np.zeros(u)
        for k, t in enumerate(range(steps - 1, -1, -1) if go_backwards else range(steps)):
            if steps_mask is None or steps_mask[b, t]:
                z = [(X[b, t] * (1 if m is None else m[j][b])) @ kernel[:, j * u : (j + 1) * u]
                     + (h * (1 if r is None else r[j][b])) @ recurrent[:, j * u : (j + 1) * u] + bias[j * u : (j + 1) * u] for j in range(4)]
                c = sigmoid(z[1]) * c + sigmoid(z[0]) * np.tanh(z[2])
                h = sigmoid(z[3]) * np.tanh(c)
            out[b, k] = h
    return out


def test_registered_as_kerass_layer_with_kerass_signature():
    cls = REGISTRY.resolve("layer", "lstm")
    assert cls is REGISTRY.resolve("layer", "LSTM") and cls.__name__ == "LSTM"
    from minikeras_core.layers import LSTM

    assert LSTM is cls
    parameters = list(inspect.signature(cls.__init__).parameters.values())[1:]
    assert [(p.name, p.default) for p in parameters[:-1]] == KERAS_SIGNATURE
    assert parameters[-1].kind is inspect.Parameter.VAR_KEYWORD


@pytest.mark.parametrize("case", keras_cases("LSTM"), ids=case_id)
def test_outputs_and_gradients_equal_kerass(case):
    """Keras 3 (torch backend, float64) with the same weights; gradients of sum(R * Y) by torch autograd."""
    check_against_keras(case)


@pytest.mark.parametrize("case", [c for c in keras_cases("model") if c["kwargs"]["recurrent"] == "LSTM"], ids=case_id)
def test_embedding_mask_reaches_the_lstm_as_in_keras(case):
    check_against_keras(case)


def test_weights_order_shapes_and_initialisation():
    layer = built("lstm", (7, 12), units=20, seed=3)
    assert [(k, v.shape) for k, v in layer.params.items()] == [("kernel", (12, 80)), ("recurrent_kernel", (20, 80)), ("bias", (80,))]
    U = layer.params["recurrent_kernel"]
    np.testing.assert_allclose(U @ U.T, np.eye(20), atol=1e-12)  # Keras's orthogonal (20, 80): orthonormal rows
    np.testing.assert_array_equal(layer.params["bias"], np.r_[np.zeros(20), np.ones(20), np.zeros(40)])  # unit_forget_bias
    assert not built("lstm", (7, 12), units=20, unit_forget_bias=False).params["bias"].any()
    assert built("lstm", (7, 12), units=20, use_bias=False).count_params() == 12 * 80 + 20 * 80
    ones = built("lstm", (3, 2), units=2, bias_initializer="ones").params["bias"]
    np.testing.assert_array_equal(ones, np.ones(8))


@pytest.mark.parametrize("kwargs", [
    {}, {"return_sequences": True}, {"go_backwards": True}, {"go_backwards": True, "return_sequences": True},
    {"use_bias": False}, {"activation": "relu", "recurrent_activation": "tanh"},  # the general path, derivatives from outputs
    {"activation": "softmax", "recurrent_activation": "softmax", "return_sequences": True},  # not element-wise
    {"activation": None, "recurrent_activation": "sigmoid"},
])
def test_bptt_matches_finite_differences(kwargs):
    rng = np.random.default_rng(1)
    layer = built("lstm", (4, 3), units=5, **kwargs)
    if "bias" in layer.params:
        layer.params["bias"][...] += 0.1 * rng.standard_normal(20)
    X = rng.standard_normal((2, 4, 3))
    check_gradients(layer, X)
    check_skips_input_grad(layer, X)


@pytest.mark.parametrize("kwargs", [{}, {"return_sequences": True, "go_backwards": True}, {"activation": "relu", "dropout": 0.3}])
def test_a_masked_step_keeps_the_states_and_gets_no_gradient(kwargs):
    rng = np.random.default_rng(3)
    layer = built("lstm", (5, 3), units=4, **kwargs)
    X = rng.standard_normal((3, 5, 3))
    G = rng.standard_normal((3,) + layer.output_shape)
    Y = layer.call(X, True, mask=MASK)
    dX = layer.call_backward(G)
    grads = {name: g.copy() for name, g in layer.grads.items()}
    p = layer.params
    if not kwargs.get("dropout"):
        loop = lstm_loop(X, p["kernel"], p["recurrent_kernel"], p["bias"], layer.go_backwards, steps_mask=MASK)
        np.testing.assert_allclose(Y, loop if layer.return_sequences else loop[:, -1], rtol=1e-12, atol=1e-14)

    def loss() -> float:
        return float(np.sum(G * layer.call(X, True, mask=MASK)))

    np.testing.assert_allclose(dX, numerical_gradient(loss, X), rtol=1e-6, atol=1e-8)
    assert not dX[~MASK].any()  # masked steps' inputs do not count
    for name, param in p.items():
        np.testing.assert_allclose(grads[name], numerical_gradient(loss, param), rtol=1e-6, atol=1e-8, err_msg=name)
    assert (layer.compute_mask(X, MASK) is MASK) == layer.return_sequences


@pytest.mark.parametrize("kwargs", [{}, {"return_sequences": True, "go_backwards": True}, {"activation": "relu"}])
def test_prediction_over_many_chunks_of_steps_equals_the_plain_loop(kwargs):
    """Predicting keeps two steps of state and projects the input a chunk of steps at a time (its memory does not grow
    with the sequence): over 37 steps, with masked steps, the numbers are the loop's and training's."""
    from minikeras_core.recurrence import INFERENCE_CHUNK

    rng = np.random.default_rng(11)
    steps = 2 * INFERENCE_CHUNK + 5
    layer = built("lstm", (steps, 3), units=4, **kwargs)
    X = rng.standard_normal((3, steps, 3))
    mask = rng.random((3, steps)) > 0.3
    p = layer.params
    loop = lstm_loop(X, p["kernel"], p["recurrent_kernel"], p["bias"], layer.go_backwards, steps_mask=mask)
    if kwargs.get("activation") == "relu":  # the loop knows Keras's activations only: training's pass is the reference
        loop = layer.call(X, True, mask=mask)
    elif not layer.return_sequences:
        loop = loop[:, -1]
    np.testing.assert_allclose(layer.call(X, False, mask=mask), loop, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(layer.call(X, False), layer.call(X, True), rtol=1e-12, atol=1e-14)


def test_leading_padding_masked_gives_the_unpadded_sequences_state():
    rng = np.random.default_rng(4)
    layer = built("lstm", (6, 2), units=3)
    tail = rng.standard_normal((1, 4, 2))
    padded = np.concatenate([rng.standard_normal((1, 2, 2)), tail], axis=1)
    alone = built("lstm", (4, 2), units=3)
    alone.set_weights(layer.get_weights())
    mask = np.array([[False, False, True, True, True, True]])
    np.testing.assert_allclose(layer.call(padded, False, mask=mask), alone.forward(tail), rtol=1e-14)
    with pytest.raises(ValueError, match=r"mask must have shape \(batch, timesteps\)"):
        layer.call(padded, False, mask=mask[:, :4])


@pytest.mark.parametrize("rates", [(0.5, 0.0), (0.0, 0.4), (0.3, 0.6), (1.0, 0.5)])
def test_dropout_masks_are_kerass_and_train_exactly(rates):
    """One input mask per sequence (dropout alone), one per gate for inputs and states with recurrent_dropout
    (Keras's implementation 1); drawn from the layer's noise; gradients by finite differences."""
    dropout, recurrent_dropout = rates
    rng = np.random.default_rng(2)
    layer = get("layer", "lstm", units=4, dropout=dropout, recurrent_dropout=recurrent_dropout, return_sequences=True, seed=7)
    layer.build((5, 3), dtype="float64", rng=np.random.default_rng(0))
    layer.params["bias"][...] += 0.1 * rng.standard_normal(16)
    X = rng.standard_normal((3, 5, 3))
    count = 4 if recurrent_dropout else 1
    u = layer.random_uniform((3, count * (3 + 4)), 7)  # the same draw the layer makes outside fit
    m = (u[:, : 3 * count] >= dropout).reshape(3, count, 3).transpose(1, 0, 2) / (1 - dropout) if dropout < 1 else np.zeros((count, 3, 3))
    r = (u[:, 3 * count :] >= recurrent_dropout).reshape(3, count, 4).transpose(1, 0, 2) / (1 - recurrent_dropout)
    m = [m[j % count] for j in range(4)] if dropout else None
    r = [r[j % count] for j in range(4)] if recurrent_dropout else None
    p = layer.params
    expected = lstm_loop(X, p["kernel"], p["recurrent_kernel"], p["bias"], m=m, r=r)
    np.testing.assert_allclose(layer.forward(X, training=True), expected, rtol=1e-12, atol=1e-12)
    assert not np.allclose(layer.forward(X, training=False), expected)  # predicting uses no masks
    check_gradients_in_training(layer, X, rng)


def test_float32_stays_float32():
    layer = built("lstm", (4, 3), dtype="float32", units=5, dropout=0.2, recurrent_dropout=0.2, return_sequences=True)
    X = np.random.default_rng(4).standard_normal((2, 4, 3)).astype(np.float32)
    Y = layer.forward(X, training=True)
    dX = layer.backward(np.ones_like(Y))
    assert Y.dtype == dX.dtype == np.float32 and all(g.dtype == np.float32 for g in layer.grads.values())


def test_saturated_gates_give_no_warning_or_nan():
    layer = built("lstm", (3, 2), units=2)
    X = np.array([[[1e4, -1e4], [-1e4, 1e4], [50.0, 0.0]]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        Y = layer.forward(X, training=True)
        dX = layer.backward(np.ones_like(Y))
    assert np.isfinite(Y).all() and np.isfinite(dX).all()


@pytest.mark.parametrize("kwargs, message", [
    ({"units": 2, "return_state": True}, "return_state=True is not supported"),
    ({"units": 2, "stateful": True}, "stateful=True is not supported"),
    ({"units": 2, "kernel_regularizer": "l2"}, "kernel_regularizer='l2' is not supported"),
    ({"units": 2, "use_cudnn": "yes"}, "use_cudnn"),
    ({"units": 0}, "units"),
    ({"units": 2, "recurrent_dropout": -0.1}, "recurrent_dropout"),
])
def test_what_it_cannot_do_is_refused_by_name(kwargs, message):
    with pytest.raises(ValueError, match=f"LSTM: {message}"):
        get("layer", "lstm", **kwargs)


def test_kerass_implementation_argument_is_accepted_and_kept():
    layer = get("layer", "lstm", units=2, implementation=1)
    assert layer.get_config()["implementation"] == 1 and type(get("layer", mk.registry.serialize(layer))).__name__ == "LSTM"
    with pytest.raises(ValueError, match="LSTM: implementation: expected 1 or 2"):
        get("layer", "lstm", units=2, implementation=3)


def test_fit_with_dropout_in_parts_on_threads_equals_one_thread(use_parts, need_threads):
    check_dropout_trains_alike_in_parts(use_parts, lambda model: model.add("lstm", units=8, dropout=0.3, recurrent_dropout=0.3,
                                                                          input_shape=(6, 4)))


@pytest.mark.parametrize("by", ["string", "class"])
def test_an_imdb_like_toy_learns_and_saves(by, tmp_path):
    from minikeras_core.layers import LSTM, Dense, Embedding

    model = Sequential(seed=0)
    if by == "string":
        model.add("embedding", input_dim=50, output_dim=8, mask_zero=True, input_shape=(20,))
        model.add("lstm", units=16)
        model.add("dense", units=1, activation="sigmoid")
    else:
        model.add(Embedding(50, 8, mask_zero=True, input_length=20))
        model.add(LSTM(16))
        model.add(Dense, units=1, activation="sigmoid")
    check_learns_toy_reviews_and_reloads(model, tmp_path, epochs=12)
