"""GRU: Keras's outputs and gradients (reset_after both ways), a plain loop with dropout masks and masks of steps, BPTT, models."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
from _layer_checks import built, check_gradients, check_skips_input_grad
from _recurrent import (
    MASK,
    case_id,
    check_against_keras,
    check_gradients_in_training,
    check_learns_toy_reviews_and_reloads,
    keras_cases,
    sigmoid,
)
from conftest import numerical_gradient

from minikeras_core import Sequential, get
from minikeras_core.registry import REGISTRY

#: keras/src/layers/rnn/gru.py: GRU.__init__'s parameters in order, with their defaults.
KERAS_SIGNATURE = [
    ("units", inspect.Parameter.empty), ("activation", "tanh"), ("recurrent_activation", "sigmoid"), ("use_bias", True),
    ("kernel_initializer", "glorot_uniform"), ("recurrent_initializer", "orthogonal"), ("bias_initializer", "zeros"),
    ("kernel_regularizer", None), ("recurrent_regularizer", None), ("bias_regularizer", None), ("activity_regularizer", None),
    ("kernel_constraint", None), ("recurrent_constraint", None), ("bias_constraint", None), ("dropout", 0.0),
    ("recurrent_dropout", 0.0), ("seed", None), ("return_sequences", False), ("return_state", False), ("go_backwards", False),
    ("stateful", False), ("unroll", False), ("reset_after", True), ("use_cudnn", "auto"),
]


def gru_loop(X, kernel, recurrent, bias, reset_after, go_backwards=False, m=None, r=None, steps_mask=None):
    """Every state from the equations, one sample and one step at a time; ``m``, ``r``: dropout masks per gate (z, r, h)."""
    n, steps, _ = X.shape
    u = recurrent.shape[0]
    b_in, b_rec = (bias[0], bias[1]) if reset_after else (bias, np.zeros(3 * u))
    out = np.zeros((n, steps, u))
    for b in range(n):
        h = np.zeros(u)
        for k, t in enumerate(range(steps - 1, -1, -1) if go_backwards else range(steps)):
            if steps_mask is None or steps_mask[b, t]:
                x = [(X[b, t] * (1 if m is None else m[j][b])) @ kernel[:, j * u : (j + 1) * u] + b_in[j * u : (j + 1) * u] for j in range(3)]
                hr = [h * (1 if r is None else r[j][b]) for j in range(3)]
                rec = [hr[j] @ recurrent[:, j * u : (j + 1) * u] + b_rec[j * u : (j + 1) * u] for j in range(3)]
                z, reset = sigmoid(x[0] + rec[0]), sigmoid(x[1] + rec[1])
                hh = np.tanh(x[2] + reset * rec[2]) if reset_after else np.tanh(x[2] + (reset * hr[2]) @ recurrent[:, 2 * u :])
                h = z * h + (1 - z) * hh
            out[b, k] = h
    return out


def test_registered_as_kerass_layer_with_kerass_signature():
    cls = REGISTRY.resolve("layer", "gru")
    assert cls is REGISTRY.resolve("layer", "GRU") and cls.__name__ == "GRU"
    parameters = list(inspect.signature(cls.__init__).parameters.values())[1:]
    assert [(p.name, p.default) for p in parameters[:-1]] == KERAS_SIGNATURE
    assert parameters[-1].kind is inspect.Parameter.VAR_KEYWORD


@pytest.mark.parametrize("case", keras_cases("GRU"), ids=case_id)
def test_outputs_and_gradients_equal_kerass(case):
    """Keras 3 (torch backend, float64) with the same weights; gradients of sum(R * Y) by torch autograd."""
    check_against_keras(case)


@pytest.mark.parametrize("case", [c for c in keras_cases("model") if c["kwargs"]["recurrent"] == "GRU"], ids=case_id)
def test_embedding_mask_reaches_the_gru_as_in_keras(case):
    check_against_keras(case)


@pytest.mark.parametrize("reset_after, bias_shape", [(True, (2, 60)), (False, (60,))])
def test_weights_order_shapes_and_initialisation(reset_after, bias_shape):
    layer = built("gru", (7, 12), units=20, reset_after=reset_after, bias_initializer="ones")
    assert [(k, v.shape) for k, v in layer.params.items()] == [("kernel", (12, 60)), ("recurrent_kernel", (20, 60)), ("bias", bias_shape)]
    U = layer.params["recurrent_kernel"]
    np.testing.assert_allclose(U @ U.T, np.eye(20), atol=1e-12)
    np.testing.assert_array_equal(layer.params["bias"], np.ones(bias_shape))


@pytest.mark.parametrize("kwargs", [
    {}, {"reset_after": False}, {"return_sequences": True, "go_backwards": True}, {"reset_after": False, "return_sequences": True},
    {"use_bias": False}, {"activation": "relu", "recurrent_activation": "tanh"},
    {"activation": "softmax", "recurrent_activation": "softmax", "reset_after": False, "return_sequences": True},
])
def test_bptt_matches_finite_differences(kwargs):
    rng = np.random.default_rng(1)
    layer = built("gru", (4, 3), units=5, **kwargs)
    if "bias" in layer.params:
        layer.params["bias"][...] = 0.3 * rng.standard_normal(layer.params["bias"].shape)
    X = rng.standard_normal((2, 4, 3))
    check_gradients(layer, X)
    check_skips_input_grad(layer, X)


@pytest.mark.parametrize("kwargs", [{}, {"reset_after": False, "return_sequences": True, "go_backwards": True},
                                    {"recurrent_dropout": 0.3, "return_sequences": True}])
def test_a_masked_step_keeps_the_state_and_gets_no_gradient(kwargs):
    rng = np.random.default_rng(3)
    layer = built("gru", (5, 3), units=4, **kwargs)
    layer.params["bias"][...] = 0.3 * rng.standard_normal(layer.params["bias"].shape)
    X = rng.standard_normal((3, 5, 3))
    G = rng.standard_normal((3,) + layer.output_shape)
    Y = layer.call(X, True, mask=MASK)
    dX = layer.call_backward(G)
    grads = {name: g.copy() for name, g in layer.grads.items()}
    p = layer.params
    if not kwargs.get("recurrent_dropout"):
        loop = gru_loop(X, p["kernel"], p["recurrent_kernel"], p["bias"], layer.reset_after, layer.go_backwards, steps_mask=MASK)
        np.testing.assert_allclose(Y, loop if layer.return_sequences else loop[:, -1], rtol=1e-12, atol=1e-14)

    def loss() -> float:
        return float(np.sum(G * layer.call(X, True, mask=MASK)))

    np.testing.assert_allclose(dX, numerical_gradient(loss, X), rtol=1e-6, atol=1e-8)
    assert not dX[~MASK].any()
    for name, param in p.items():
        np.testing.assert_allclose(grads[name], numerical_gradient(loss, param), rtol=1e-6, atol=1e-8, err_msg=name)


@pytest.mark.parametrize("reset_after", [True, False])
@pytest.mark.parametrize("rates", [(0.5, 0.0), (0.0, 0.4), (0.3, 0.6)])
def test_dropout_masks_are_kerass_and_train_exactly(rates, reset_after):
    dropout, recurrent_dropout = rates
    rng = np.random.default_rng(2)
    layer = get("layer", "gru", units=4, dropout=dropout, recurrent_dropout=recurrent_dropout, reset_after=reset_after,
                return_sequences=True, seed=5)
    layer.build((5, 3), dtype="float64", rng=np.random.default_rng(0))
    layer.params["bias"][...] = 0.3 * rng.standard_normal(layer.params["bias"].shape)
    X = rng.standard_normal((3, 5, 3))
    count = 3 if recurrent_dropout else 1
    u = layer.random_uniform((3, count * (3 + 4)), 5)
    m = (u[:, : 3 * count] >= dropout).reshape(3, count, 3).transpose(1, 0, 2) / (1 - dropout)
    r = (u[:, 3 * count :] >= recurrent_dropout).reshape(3, count, 4).transpose(1, 0, 2) / (1 - recurrent_dropout)
    m = [m[j % count] for j in range(3)] if dropout else None
    r = [r[j % count] for j in range(3)] if recurrent_dropout else None
    p = layer.params
    expected = gru_loop(X, p["kernel"], p["recurrent_kernel"], p["bias"], reset_after, m=m, r=r)
    np.testing.assert_allclose(layer.forward(X, training=True), expected, rtol=1e-12, atol=1e-12)
    check_gradients_in_training(layer, X, rng)


@pytest.mark.parametrize("kwargs", [{}, {"reset_after": False, "return_sequences": True, "go_backwards": True},
                                    {"activation": "relu", "recurrent_activation": "softmax"}])
def test_prediction_over_many_chunks_of_steps_equals_training_s_pass(kwargs):
    """Prediction keeps two states and projects the input a chunk of steps at a time; training keeps every step:
    over 37 steps with masked steps, the same numbers."""
    from minikeras_core.recurrence import INFERENCE_CHUNK

    rng = np.random.default_rng(12)
    steps = 2 * INFERENCE_CHUNK + 5
    layer = built("gru", (steps, 3), units=4, **kwargs)
    layer.params["bias"][...] = 0.3 * rng.standard_normal(layer.params["bias"].shape)
    X, mask = rng.standard_normal((3, steps, 3)), rng.random((3, steps)) > 0.3
    np.testing.assert_allclose(layer.call(X, False, mask=mask), layer.call(X, True, mask=mask), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(layer.call(X, False), layer.call(X, True), rtol=1e-12, atol=1e-14)


def test_float32_stays_float32():
    for reset_after in (True, False):
        layer = built("gru", (4, 3), dtype="float32", units=5, reset_after=reset_after, dropout=0.2, recurrent_dropout=0.2)
        X = np.random.default_rng(4).standard_normal((2, 4, 3)).astype(np.float32)
        Y = layer.forward(X, training=True)
        dX = layer.backward(np.ones_like(Y))
        assert Y.dtype == dX.dtype == np.float32 and all(g.dtype == np.float32 for g in layer.grads.values())


@pytest.mark.parametrize("kwargs, message", [
    ({"units": 2, "return_state": True}, "return_state=True is not supported"),
    ({"units": 2, "stateful": True}, "stateful=True is not supported"),
    ({"units": 2, "bias_constraint": "non_neg"}, "bias_constraint='non_neg' is not supported"),
    ({"units": 2, "use_cudnn": None}, "use_cudnn"),
    ({"units": -1}, "units"),
])
def test_what_it_cannot_do_is_refused_by_name(kwargs, message):
    with pytest.raises(ValueError, match=f"GRU: {message}"):
        get("layer", "gru", **kwargs)


@pytest.mark.parametrize("reset_after", [True, False])
def test_an_imdb_like_toy_learns_and_saves(reset_after, tmp_path):
    model = Sequential(seed=0)
    model.add("embedding", input_dim=50, output_dim=8, mask_zero=True, input_shape=(20,))
    model.add("GRU", units=16, reset_after=reset_after)
    model.add("dense", units=1, activation="sigmoid")
    check_learns_toy_reviews_and_reloads(model, tmp_path, epochs=12)
