"""Keras's BatchNormalization: each channel normalized by its batch's statistics while training, by moving ones after."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from minikeras_core import Layer, backend
from minikeras_core.arguments import axis_tuple, fraction, positive_number, refuse_regularizers, sample_axes


class BatchNormalization(Layer):
    """Per channel ``c`` along ``axis`` (counted as Keras: batch axis 0, ``-1`` the last)::

        Y = gamma * (X - mean) / sqrt(var + epsilon) + beta

    While training ``mean`` and ``var`` are the batch's, over every axis but ``axis`` (the biased
    variance, as Keras), and each training call moves ``moving = moving * momentum + stat * (1 -
    momentum)``; otherwise (evaluate, predict) the moving statistics are used. Weights, in
    Keras's order: ``gamma`` (``scale``), ``beta`` (``center``), then the non-trainable
    ``moving_mean`` and ``moving_variance``. A ``mask`` (one entry per position but the last axis)
    leaves masked entries out of the statistics, which are then sums over ``W`` entries divided
    by ``W + 1e-7``, Keras's formula.

    Backward, with ``xc = X - mean``, ``inv = 1 / sqrt(var + epsilon)``, ``w`` the mask (else 1),
    ``c`` the count's reciprocal and sums over every axis but ``axis``::

        dbeta = sum G,   dgamma = inv * sum G xc
        dX = gamma inv G + w (k2 xc + k3),  k2 = -c gamma inv^3 sum G xc,  k3 = -c (gamma inv sum G + k2 sum w xc)

    (the gradient through the batch's mean and variance). ``xc`` is kept from the forward pass.

    The statistics must be the whole batch's: this layer runs once on the whole batch while the
    layers around it train in parts on threads. A frozen layer (``trainable = False``) uses its
    moving statistics while training too and leaves them alone, as Keras's (its input gradient is
    then ``gamma inv G``). ``synchronized`` changes nothing (each process of a distribution strategy
    normalizes its own share, Keras's ``False``); ``renorm``, regularizers and constraints are refused.
    """

    parallel_training = False

    def __init__(self, axis: int = -1, momentum: float = 0.99, epsilon: float = 1e-3, center: bool = True, scale: bool = True,
                 beta_initializer: Any = "zeros", gamma_initializer: Any = "ones", moving_mean_initializer: Any = "zeros",
                 moving_variance_initializer: Any = "ones", beta_regularizer: Any = None, gamma_regularizer: Any = None,
                 beta_constraint: Any = None, gamma_constraint: Any = None, renorm: bool = False, renorm_clipping: Any = None,
                 renorm_momentum: float = 0.99, synchronized: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        owner = type(self).__name__
        refuse_regularizers(owner, locals(), "no regularizers, constraints or batch renormalization", renorm=renorm or None)
        (self.axis,) = axis_tuple(axis, owner, single=True)  # one axis: the channels'
        self.momentum = fraction(momentum, "momentum", owner, include_one=True)
        self.epsilon = positive_number(epsilon, "epsilon", owner)
        self.center, self.scale = bool(center), bool(scale)
        self.initializers = {"gamma": gamma_initializer, "beta": beta_initializer,
                             "moving_mean": moving_mean_initializer, "moving_variance": moving_variance_initializer}

    @classmethod
    def conformance_cases(cls) -> list[dict]:
        return [
            {"input_size": (5,)},
            {"axis": 3, "momentum": 0.9, "input_size": (3, 2, 4)},
            {"axis": 1, "center": False, "input_size": (3, 2, 2)},
            {"axis": -2, "scale": False, "epsilon": 0.01, "input_size": (3, 4)},
        ]

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        (self._channel_axis,) = sample_axes(self._label, self.axis, input_shape, "the batch axis 0 cannot be a channel axis")
        return input_shape

    def create_weights(self, input_shape: tuple) -> None:
        shape = (input_shape[self._channel_axis - 1],)
        for name, wanted in (("gamma", self.scale), ("beta", self.center), ("moving_mean", True), ("moving_variance", True)):
            if wanted:
                self.add_weight(name, shape, self.initializers[name], trainable=not name.startswith("moving"))
        if np.any(self.params["moving_variance"] < 0):  # its square root would be NaN from the first prediction on
            raise ValueError(f"{self._label}: moving_variance_initializer={self.initializers['moving_variance']!r} gave negative "
                             "variances; use one whose values are >= 0 (ones, the default)")

    def _view(self, A: np.ndarray) -> np.ndarray:
        """``A`` as ``(n, r, C)`` when the channels are last, else ``(n, r, C, p)``: samples, the axes before the channels, the channels."""
        C, p = A.shape[self._channel_axis], math.prod(A.shape[self._channel_axis + 1:])
        return A.reshape(len(A), -1, C) if p == 1 else A.reshape(len(A), -1, C, p)

    def _sum(self, A: np.ndarray, B: np.ndarray | None = None) -> np.ndarray:
        """``sum A`` (or ``sum A * B``) over the view's axes but the channels': each sample's sum, then theirs (in float32
        ~20x closer than one running sum, as fast; no BLAS, whose idle threads slowed the element-wise passes 2x)."""
        s = "nrc" if A.ndim == 3 else "nrcp"
        per_sample = np.einsum(f"{s}->nc", A) if B is None else np.einsum(f"{s},{s}->nc", A, B)
        return per_sample.sum(axis=0)

    def call(self, X: np.ndarray, training: bool = False, mask: np.ndarray | None = None) -> np.ndarray:
        V, gamma, beta = self._view(X), self.params.get("gamma"), self.params.get("beta")
        stat = (-1,) if V.ndim == 3 else (-1, 1)  # a channel vector's shape against the view
        batch = training and self.trainable  # frozen, it normalizes as in inference and its moving statistics stay, as Keras's
        w = count = None
        if batch:
            w = None if mask is None else self._mask_weights(mask, X, V)
            count = V.size // V.shape[2] if w is None else self._sum(w) + backend.epsilon()  # Keras's formula, for equal values
            mean = (self._sum(V) if w is None else self._sum(V, w)) / count
        else:
            mean, var = self.params["moving_mean"], self.params["moving_variance"]
        xc = V - mean.reshape(stat)
        if batch:
            var = (self._sum(xc, xc) if w is None else self._sum(xc, xc * w)) / count
            for name, value in (("moving_mean", mean), ("moving_variance", var)):
                moving = self.params[name]
                moving[...] = moving * self.momentum + value * (1.0 - self.momentum)
        inv = 1.0 / np.sqrt(var + self.epsilon)
        scale = (inv if gamma is None else inv * gamma).reshape(stat)
        if training:
            self._xc, self._inv, self._w, self._count = xc, inv, w, count
            Z = xc * scale  # a new array: xc is kept for backward
        else:  # no state is written: predictions may run through this layer on several threads at once
            Z = xc
            Z *= scale
        if beta is not None:
            Z += beta.reshape(stat)
        return Z.reshape(X.shape)

    def _mask_weights(self, mask: np.ndarray, X: np.ndarray, V: np.ndarray) -> np.ndarray:
        if mask.shape != X.shape[:-1]:
            raise ValueError(f"{self._label}: a mask must have the input's shape but its last axis, {X.shape[:-1]}, got {mask.shape}")
        return np.broadcast_to(mask[..., None], X.shape).astype(X.dtype).reshape(V.shape)

    def call_backward(self, grad: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        xc, inv, w, count = self._xc, self._inv, self._w, self._count
        self._xc = self._w = None  # used up here: xc's memory becomes part of dX
        G = self._view(grad)
        stat = (-1,) if G.ndim == 3 else (-1, 1)
        sum_g, sum_gx = self._sum(G), self._sum(G, xc)
        if "gamma" in self.grads:
            np.multiply(sum_gx, inv, out=self.grads["gamma"])
        if "beta" in self.grads:
            self.grads["beta"][...] = sum_g
        if not need_input_grad:
            return None
        k1 = self.params.get("gamma", 1.0) * inv
        dX = G * k1.reshape(stat)
        if count is not None:  # the batch's statistics: the gradient through them too
            c = 1.0 / count
            k2 = -c * k1 * inv * inv * sum_gx
            k3 = -c * (k1 * sum_g + (0.0 if w is None else k2 * self._sum(w, xc)))
            xc *= k2.reshape(stat)
            xc += k3.reshape(stat)
            if w is not None:
                xc *= w
            dX += xc
        return dX.reshape(grad.shape)
