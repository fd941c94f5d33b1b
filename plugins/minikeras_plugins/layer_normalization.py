"""Keras's LayerNormalization: each sample normalized over its own features."""

from __future__ import annotations

from typing import Any

import numpy as np

from minikeras_core import Layer
from minikeras_core.arguments import axis_tuple, positive_number, refuse_regularizers, sample_axes


class LayerNormalization(Layer):
    """Over ``axis`` (an int or a tuple of ints, counted as Keras: batch axis 0, ``-1`` the last),
    with ``mean`` and ``var`` (biased) taken over those axes for each sample::

        Y = gamma * (X - mean) / sqrt(var + epsilon) + beta

    ``gamma`` (``scale``) and ``beta`` (``center``) have the normalized axes' shape, in that
    order, as Keras. ``rms_scaling=True`` (deprecated in Keras 3, which warns that it divides by the
    standard deviation, not the root mean square; accepted here, silently, for Keras's configs) computes
    ``Y = gamma * X / sqrt(var + epsilon)``: no centering and no ``beta``, ``var`` still centered.

    Backward, with ``inv = 1 / sqrt(var + epsilon)``, ``xhat = (X - mean) inv`` (kept from the
    forward pass), ``h = gamma G``, means over the normalized axes and sums over the others::

        dX = inv (h - mean h - xhat mean(h xhat)),   dgamma = sum G xhat,   dbeta = sum G
        rms_scaling: dX = inv h - inv^3 mean(h X) (X - mean),   dgamma = sum G X inv

    Samples stay independent. Regularizers and constraints are refused.
    """

    def __init__(self, axis: int | tuple = -1, epsilon: float = 1e-3, center: bool = True, scale: bool = True,
                 beta_initializer: Any = "zeros", gamma_initializer: Any = "ones", beta_regularizer: Any = None,
                 gamma_regularizer: Any = None, beta_constraint: Any = None, gamma_constraint: Any = None,
                 rms_scaling: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        owner = type(self).__name__
        refuse_regularizers(owner, locals())
        axis_tuple(axis, owner)  # checked now, counted against the input's rank when built
        self.axis = axis
        self.epsilon = positive_number(epsilon, "epsilon", owner)
        self.center, self.scale, self.rms_scaling = bool(center), bool(scale), bool(rms_scaling)
        self.beta_initializer, self.gamma_initializer = beta_initializer, gamma_initializer

    @classmethod
    def conformance_cases(cls) -> list[dict]:
        return [
            {"input_size": (5,)},
            {"axis": (1, 3), "input_size": (3, 2, 4)},
            {"axis": -2, "center": False, "epsilon": 0.01, "input_size": (4, 3)},
            {"axis": (2, 3), "rms_scaling": True, "input_size": (2, 3, 2)},
        ]

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        rank = len(input_shape) + 1
        self._norm_axes = sample_axes(self._label, self.axis, input_shape, "the batch axis 0 mixes samples")
        self._other_axes = tuple(a for a in range(rank) if a not in self._norm_axes)  # the batch axis and those not normalized
        # a weight's shape, and how it lines up with a sample (1 on the axes not normalized)
        self._weight_shape = tuple(input_shape[a - 1] for a in self._norm_axes)
        self._broadcast = tuple(input_shape[a - 1] if a in self._norm_axes else 1 for a in range(1, rank))
        return input_shape

    def create_weights(self, input_shape: tuple) -> None:
        if self.scale or self.rms_scaling:
            self.add_weight("gamma", self._weight_shape, self.gamma_initializer)
        if self.center and not self.rms_scaling:
            self.add_weight("beta", self._weight_shape, self.beta_initializer)

    def _weight(self, name: str) -> np.ndarray | None:
        weight = self.params.get(name)
        return None if weight is None else weight.reshape(self._broadcast)

    def call(self, X: np.ndarray, training: bool = False) -> np.ndarray:
        axes = self._norm_axes
        mean = X.mean(axis=axes, keepdims=True)
        xc = X - mean
        inv = np.mean(np.square(xc), axis=axes, keepdims=True)
        inv += self.epsilon
        np.sqrt(inv, out=inv)
        np.reciprocal(inv, out=inv)
        if self.rms_scaling:
            xhat = X * inv
        else:
            xhat = xc
            xhat *= inv
        if training:  # the core sees that Z may be xhat and then applies an activation out of place
            self._xhat, self._inv = xhat, inv
            self._X, self._xc = (X, xc) if self.rms_scaling else (None, None)
        gamma, beta = self._weight("gamma"), self._weight("beta")
        Z = xhat if gamma is None else xhat * gamma
        if beta is not None:
            Z = Z + beta if Z is xhat else np.add(Z, beta, out=Z)
        return Z

    def call_backward(self, grad: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        xhat, inv, axes = self._xhat, self._inv, self._norm_axes
        if "gamma" in self.grads:
            np.sum(grad * xhat, axis=self._other_axes, out=self.grads["gamma"])
        if "beta" in self.grads:
            np.sum(grad, axis=self._other_axes, out=self.grads["beta"])
        if not need_input_grad:
            return None
        gamma = self._weight("gamma")
        h = grad if gamma is None else grad * gamma
        if self.rms_scaling:
            dX = h * inv
            dX -= (inv ** 3 * np.mean(h * self._X, axis=axes, keepdims=True)) * self._xc
            return dX
        dX = xhat * np.mean(h * xhat, axis=axes, keepdims=True)
        dX += np.mean(h, axis=axes, keepdims=True)
        np.subtract(h, dX, out=dX)
        dX *= inv
        return dX
