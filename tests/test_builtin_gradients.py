"""Gradients of the built-in activations, layers and losses against central finite differences (float64)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import numerical_gradient

from minikeras_core import get

ACTIVATIONS = ["sigmoid", "relu", "softmax", "tanh", "linear"]


def _inputs(shape, seed=0):
    X = np.random.default_rng(seed).normal(size=shape)
    if shape[-1] > 1:
        X[..., 0] += 0.3  # keep relu's kink away from the sampled points
    return np.where(np.abs(X) < 1e-3, 0.5, X)


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation_jacobian_matches_finite_differences(name):
    act = get("activation", name)
    X = _inputs((3, 4))
    J = act.grad_input(X)
    assert J.shape == (3, 4, 4)
    for b in range(3):
        for i in range(4):
            expected = numerical_gradient(lambda b=b, i=i: act.eval(X)[b, i], X)
            np.testing.assert_allclose(J[b, i], expected[b], atol=1e-7)
            assert np.allclose(expected[np.arange(3) != b], 0)  # samples do not mix


@pytest.mark.parametrize("name", ACTIVATIONS)
@pytest.mark.parametrize("shape", [(3, 4), (2, 3, 5), (2, 2, 3, 4)])
def test_activation_backward_is_the_vector_jacobian_product(name, shape):
    act = get("activation", name)
    X = _inputs(shape, seed=1)
    G = np.random.default_rng(2).normal(size=shape)
    grad = act.backward(X, G)
    expected = numerical_gradient(lambda: float(np.sum(act.eval(X) * G)), X)
    np.testing.assert_allclose(grad, expected, atol=1e-7)
    np.testing.assert_allclose(act.backward(X, G, Y=act.eval(X)), grad, atol=1e-12)


def test_the_base_class_derives_backward_from_the_jacobian_for_any_rank():
    from minikeras_core import Activation

    class JacobianOnlySoftmax(Activation):
        def eval(self, X):
            e = np.exp(X - X.max(axis=-1, keepdims=True))
            return e / e.sum(axis=-1, keepdims=True)

        def grad_input(self, X):
            s = self.eval(X)
            return s[..., :, None] * (np.eye(X.shape[-1]) - s[..., None, :])

    X = _inputs((2, 3, 4), seed=3)
    G = np.random.default_rng(4).normal(size=X.shape)
    np.testing.assert_allclose(JacobianOnlySoftmax().backward(X, G), get("activation", "softmax").backward(X, G), atol=1e-12)


def test_sigmoid_and_softmax_are_safe_at_extremes():
    X = np.array([[-1000.0, 1000.0, 0.0]])
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        s = get("activation", "sigmoid").eval(X)
        p = get("activation", "softmax").eval(X)
    np.testing.assert_allclose(s, [[0.0, 1.0, 0.5]])
    np.testing.assert_allclose(p, [[0.0, 1.0, 0.0]])


def test_sigmoid_matches_scipy():
    from scipy.special import expit

    X = np.linspace(-30, 30, 101)[None, :]
    np.testing.assert_allclose(get("activation", "sigmoid").eval(X), expit(X), rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation_keeps_dtype(name, dtype):
    act = get("activation", name)
    X = _inputs((2, 3)).astype(dtype)
    assert act.eval(X).dtype == dtype
    assert act.backward(X, np.ones_like(X)).dtype == dtype


@pytest.mark.parametrize(
    "name, kwargs, input_shape",
    [
        ("dense", {"units": 3}, (4,)),
        ("dense", {"units": 2, "activation": "tanh"}, (3, 5)),
        ("dense", {"units": 3, "activation": "softmax"}, (4,)),
        ("flatten", {}, (2, 3, 2)),
    ],
)
def test_layer_gradients_match_finite_differences(name, kwargs, input_shape):
    layer = get("layer", name, **kwargs).build(input_shape, dtype="float64", rng=np.random.default_rng(0))
    for param in layer.params.values():
        param[...] = np.random.default_rng(5).normal(size=param.shape)
    X = np.random.default_rng(6).normal(size=(3,) + input_shape)
    G = np.random.default_rng(7).normal(size=(3,) + layer.output_shape)

    def objective():
        return float(np.sum(layer.forward(X) * G))

    layer.forward(X, training=True)
    grad_X = layer.backward(G)
    np.testing.assert_allclose(grad_X, numerical_gradient(objective, X), atol=1e-6)
    for key, param in layer.params.items():
        np.testing.assert_allclose(layer.grads[key], numerical_gradient(objective, param), atol=1e-6, err_msg=key)


def test_dense_weights_are_in_keras_layout_and_glorot_initialised():
    layer = get("layer", "dense", units=300).build((200,), rng=np.random.default_rng(0))
    kernel, bias = layer.get_weights()
    assert kernel.shape == (200, 300) and bias.shape == (300,) and kernel.dtype == np.float32
    limit = np.sqrt(6 / 500)
    assert np.abs(kernel).max() <= limit and np.abs(kernel).max() > 0.95 * limit
    assert abs(kernel.std() - limit / np.sqrt(3)) < 0.01 * limit  # the variance of U(-a, a) is a^2 / 3
    assert not bias.any()


def test_flatten_keeps_c_order():
    X = np.arange(2 * 2 * 3 * 2, dtype=np.float32).reshape(2, 2, 3, 2)
    layer = get("layer", "flatten").build((2, 3, 2))
    np.testing.assert_array_equal(layer.forward(X), X.reshape(2, 12))


LOSS_CASES = [
    ("binary_cross_entropy", (4, 3), "probabilities"),
    ("binary_cross_entropy", (2, 3, 2), "probabilities"),
    ("categorical_cross_entropy", (4, 3), "distributions"),
    ("categorical_cross_entropy", (2, 3, 4), "distributions"),
]


def _loss_inputs(shape, form, seed=0):
    rng = np.random.default_rng(seed)
    if form == "probabilities":
        return rng.uniform(0.05, 0.95, size=shape), rng.integers(0, 2, size=shape).astype(float)
    y_pred = rng.uniform(0.1, 1.0, size=shape)
    y_pred /= y_pred.sum(axis=-1, keepdims=True)
    return y_pred, np.eye(shape[-1])[rng.integers(0, shape[-1], size=shape[:-1])]


@pytest.mark.parametrize("name, shape, form", LOSS_CASES)
def test_loss_gradient_matches_finite_differences_of_the_mean(name, shape, form):
    loss = get("loss", name)
    y_pred, y_true = _loss_inputs(shape, form)
    np.testing.assert_allclose(loss.grad_input(y_pred, y_true), numerical_gradient(lambda: loss(y_pred, y_true), y_pred), atol=1e-6)


def test_losses_match_a_hand_computation_and_reduce_like_keras():
    bce, cce = get("loss", "binary_cross_entropy"), get("loss", "categorical_cross_entropy")
    y_pred = np.array([[0.9, 0.2], [0.4, 0.7]])
    y_true = np.array([[1.0, 0.0], [0.0, 1.0]])
    expected = (-(np.log(0.9) + np.log(0.8)) / 2 - (np.log(0.6) + np.log(0.7)) / 2) / 2
    assert bce(y_pred, y_true) == pytest.approx(expected, rel=1e-12)
    # sequences: (n, t, k) averages over samples and time steps, sums over classes
    p = np.array([[[0.5, 0.5], [0.25, 0.75]]])
    t = np.array([[[1.0, 0.0], [0.0, 1.0]]])
    assert cce(p, t) == pytest.approx(-(np.log(0.5) + np.log(0.75)) / 2, rel=1e-12)
    # integer class ids are accepted by the categorical loss
    assert cce(p, np.array([[0, 1]])) == pytest.approx(cce(p, t), rel=1e-12)


def test_losses_never_take_log_of_zero():
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        for name in ("binary_cross_entropy", "categorical_cross_entropy"):
            loss = get("loss", name)
            for value in (0.0, 1.0):
                y_pred = np.full((2, 3), value)
                y_true = np.eye(3)[[0, 2]]
                assert np.isfinite(loss(y_pred, y_true))
                assert np.all(np.isfinite(loss.grad_input(y_pred, y_true)))


def test_wrongly_shaped_or_out_of_range_targets_are_refused():
    cce = get("loss", "categorical_cross_entropy")
    with pytest.raises(ValueError, match="(?i)CategoricalCrossEntropy"):
        cce(np.full((2, 3), 1 / 3), np.zeros((2, 4)))
    with pytest.raises(ValueError, match="class ids"):
        cce(np.full((2, 3), 1 / 3), np.array([0, 3]))
    with pytest.raises(ValueError, match="(?i)BinaryCrossEntropy"):
        get("loss", "binary_cross_entropy")(np.full((2, 1), 0.5), np.zeros((3, 1)))


@pytest.mark.parametrize("pair", [("softmax", "categorical_cross_entropy", (3, 4)), ("sigmoid", "binary_cross_entropy", (3, 2))])
def test_fused_gradients_equal_the_chain_rule(pair):
    act_name, loss_name, shape = pair
    act, loss = get("activation", act_name), get("loss", loss_name)
    Z = np.random.default_rng(0).normal(size=shape)
    y_pred = act.eval(Z)
    y_true = _loss_inputs(shape, "distributions" if act_name == "softmax" else "probabilities", seed=1)[1]
    chained = act.backward(Z, loss.grad_input(y_pred, y_true))
    np.testing.assert_allclose(loss.fused_grad(act, y_pred, y_true), chained, atol=1e-10)
    assert loss.fused_grad(get("activation", "tanh"), y_pred, y_true) is None
