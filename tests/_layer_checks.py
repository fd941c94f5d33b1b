"""Helpers shared by the layer tests: a float64 layer, central finite differences, and a layer that makes a mask."""

from __future__ import annotations

import numpy as np
from conftest import numerical_gradient

from minikeras_core import Layer, get


def built(name: str, input_shape: tuple, seed: int = 0, dtype: str = "float64", **kwargs):
    """A layer from the registry, built for ``input_shape`` (no batch axis)."""
    layer = get("layer", name, **kwargs)
    return layer.build(input_shape, dtype=dtype, rng=np.random.default_rng(seed))


def check_gradients(layer, X: np.ndarray, seed: int = 1, rtol: float = 1e-6, atol: float = 1e-8) -> None:
    """Assert that ``backward`` gives the input and weight gradients of ``L = sum(R * forward(X))``."""
    R = np.random.default_rng(seed).standard_normal((len(X),) + layer.output_shape)

    def loss() -> float:
        return float(np.sum(R * layer.forward(X, training=False)))

    layer.forward(X, training=True)
    dX = layer.backward(R)
    analytic = {name: g.copy() for name, g in layer.grads.items()}
    np.testing.assert_allclose(dX, numerical_gradient(loss, X), rtol=rtol, atol=atol, err_msg="input gradient")
    for name, param in layer.params.items():
        np.testing.assert_allclose(analytic[name], numerical_gradient(loss, param), rtol=rtol, atol=atol, err_msg=name)


def check_skips_input_grad(layer, X: np.ndarray) -> None:
    """With ``need_input_grad`` false (a model's first layer) ``backward`` returns None and the same weight gradients."""
    Y = layer.forward(X, training=True)
    G = np.random.default_rng(7).standard_normal(Y.shape)
    assert layer.backward(G) is not None
    expected = {name: g.copy() for name, g in layer.grads.items()}
    for g in layer.grads.values():
        g[...] = 0
    layer.forward(X, training=True)
    assert layer.backward(G, need_input_grad=False) is None
    for name, g in layer.grads.items():
        np.testing.assert_array_equal(g, expected[name], err_msg=name)


class MaskZeros(Layer):
    """The identity, making a mask of the time steps whose first feature is not 0 (as Embedding(mask_zero=True))."""

    def compute_output_shape(self, input_shape):
        return input_shape

    def call(self, X, training=False):
        return X.copy()

    def call_backward(self, grad):
        return grad

    def compute_mask(self, X, mask):
        return X[..., 0] != 0
