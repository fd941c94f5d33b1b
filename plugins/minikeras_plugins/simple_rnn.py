"""Keras's SimpleRNN: a fully connected recurrent layer whose output is its state."""

from __future__ import annotations

from typing import Any

import numpy as np

from minikeras_core import Layer, get
from minikeras_core.arguments import fraction, non_negative_int, positive_int


class SimpleRNN(Layer):
    """Over ``X`` of shape ``(n, timesteps, features)``, with ``h_0 = 0``::

        h_t = activation(x_t W + h_{t-1} U + b)

    ``W = kernel (features, units)`` (Glorot uniform), ``U = recurrent_kernel (units, units)``
    (orthogonal), ``b = bias (units,)`` (zeros), in that order, as Keras. The output is every
    ``h_t``, ``(n, timesteps, units)``, with ``return_sequences``, else the last, ``(n, units)``.
    ``go_backwards`` reads the steps last to first (and returns the states in that order, as
    Keras). ``activation`` belongs to the recurrence (``None``: linear), applied here through its
    vector-Jacobian product, so the base class applies none.

    While training, ``dropout`` scales ``x_t`` by a mask ``m / (1 - dropout)`` and
    ``recurrent_dropout`` scales ``h_{t-1}`` by ``r / (1 - recurrent_dropout)``: one mask per
    sequence, the same for all its steps (Keras's), drawn with ``Layer.random_uniform``. A
    ``mask`` of steps ``(n, timesteps)`` (from ``Embedding(mask_zero=True)``) makes a masked step
    keep the previous state, zeros before the first, as Keras; it goes on only with the sequences.

    Forward: ``x_t W + b`` for every step in one product, then one ``h U`` per step. Backward
    through time, with ``a_t`` the pre-activation and ``dh_t`` from the output and step ``t + 1``::

        da_t = dh_t * activation'(a_t),   dh_{t-1} += (da_t U^T) * r
        dW = sum_t x_t^T da_t,  dU = sum_t (h_{t-1} * r)^T da_t,  db = sum_t da_t,  dx_t = da_t W^T * m

    where only the recursion loops over steps. ``return_state=True`` (two outputs), ``stateful``
    and regularizers or constraints are refused; ``unroll`` changes nothing here.
    """

    def __init__(self, units: int, activation: Any = "tanh", use_bias: bool = True, kernel_initializer: Any = "glorot_uniform",
                 recurrent_initializer: Any = "orthogonal", bias_initializer: Any = "zeros", kernel_regularizer: Any = None,
                 recurrent_regularizer: Any = None, bias_regularizer: Any = None, activity_regularizer: Any = None,
                 kernel_constraint: Any = None, recurrent_constraint: Any = None, bias_constraint: Any = None,
                 dropout: float = 0.0, recurrent_dropout: float = 0.0, return_sequences: bool = False, return_state: bool = False,
                 go_backwards: bool = False, stateful: bool = False, unroll: bool = False, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)  # no activation for the base: this one is the recurrence's
        owner = type(self).__name__
        refused = {"kernel_regularizer": kernel_regularizer, "recurrent_regularizer": recurrent_regularizer,
                   "bias_regularizer": bias_regularizer, "activity_regularizer": activity_regularizer,
                   "kernel_constraint": kernel_constraint, "recurrent_constraint": recurrent_constraint,
                   "bias_constraint": bias_constraint, "return_state": return_state or None, "stateful": stateful or None}
        for argument, value in refused.items():
            if value is not None:
                raise ValueError(f"{owner}: {argument}={value!r} is not supported (a Sequential layer has one output and "
                                 f"no state between batches; there are no regularizers or constraints); leave it at its default")
        self.units = positive_int(units, "units", owner)
        self.cell_activation = get("activation", "linear" if activation is None else activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer, self.recurrent_initializer, self.bias_initializer = kernel_initializer, recurrent_initializer, bias_initializer
        self.dropout = fraction(dropout, "dropout", owner, include_one=True)
        self.recurrent_dropout = fraction(recurrent_dropout, "recurrent_dropout", owner, include_one=True)
        self.return_sequences, self.go_backwards = bool(return_sequences), bool(go_backwards)
        self.seed = None if seed is None else non_negative_int(seed, "seed", owner)

    @classmethod
    def conformance_cases(cls) -> list[dict]:
        return [
            {"units": 3, "input_size": (4, 2)},
            {"units": 2, "activation": "relu", "return_sequences": True, "go_backwards": True, "input_size": (3, 3)},
            {"units": 3, "activation": "softmax", "use_bias": False, "dropout": 0.3, "recurrent_dropout": 0.4,
             "return_sequences": True, "input_size": (3, 2)},
        ]

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        if len(input_shape) != 2:
            raise ValueError(f"{self._label}: expects sequences of shape (timesteps, features) per sample, got input shape {input_shape}")
        return (input_shape[0], self.units) if self.return_sequences else (self.units,)

    def create_weights(self, input_shape: tuple) -> None:
        self.add_weight("kernel", (input_shape[1], self.units), self.kernel_initializer)
        self.add_weight("recurrent_kernel", (self.units, self.units), self.recurrent_initializer)
        if self.use_bias:
            self.add_weight("bias", (self.units,), self.bias_initializer)

    def _masks(self, X: np.ndarray, training: bool) -> tuple:
        """The scaled input and recurrent dropout masks ``(n, features)`` and ``(n, units)``, or ``None`` each."""
        if not training or not (self.dropout or self.recurrent_dropout):
            return None, None
        features = X.shape[2]
        u = self.random_uniform((len(X), features + self.units), self.seed)  # one draw per sample for both masks
        masks = []
        for rate, part in ((self.dropout, u[:, :features]), (self.recurrent_dropout, u[:, features:])):
            masks.append(None if not rate else (part >= rate).astype(X.dtype) * X.dtype.type(0 if rate == 1 else 1 / (1 - rate)))
        return tuple(masks)

    def compute_mask(self, X: np.ndarray, mask: np.ndarray | None) -> np.ndarray | None:
        return mask if self.return_sequences else None

    def call(self, X: np.ndarray, training: bool = False, mask: np.ndarray | None = None) -> np.ndarray:
        p, f = self.params, self.cell_activation
        m, r = self._masks(X, training)
        if mask is not None:
            if np.shape(mask) != X.shape[:2]:
                raise ValueError(f"{self._label}: mask must have shape (batch, timesteps) {X.shape[:2]}, got {np.shape(mask)}")
            mask = np.asarray(mask, dtype=bool)[:, ::-1 if self.go_backwards else 1].T[..., None]  # (t, n, 1)
        Xt = (X[:, ::-1] if self.go_backwards else X).transpose(1, 0, 2)  # time-major: each step's rows together
        if m is not None:
            Xt = Xt * m
        A = Xt @ p["kernel"]  # (t, n, units): every step's input projection in one product
        if self.use_bias:
            A += p["bias"]
        H = np.empty_like(A) if training else A  # predicting, each state overwrites its own pre-activation
        U = p["recurrent_kernel"]
        for t in range(len(A)):
            if t:
                A[t] += (H[t - 1] if r is None else H[t - 1] * r) @ U
            H[t] = f(A[t])
            if mask is not None:  # a masked step keeps the state before it
                H[t] = np.where(mask[t], H[t], H[t - 1] if t else 0)
        if training:
            self._Xt, self._A, self._H, self._r, self._m, self._M = Xt, A, H, r, m, mask
        return np.ascontiguousarray(H.transpose(1, 0, 2)) if self.return_sequences else H[-1].copy()

    def call_backward(self, grad: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        p, g, f = self.params, self.grads, self.cell_activation
        Xt, A, H, r, m, M = self._Xt, self._A, self._H, self._r, self._m, self._M
        steps, units = len(A), self.units
        out = grad.transpose(1, 0, 2) if self.return_sequences else None
        dh = out[-1] if self.return_sequences else grad
        dA = np.empty_like(A)
        UT = p["recurrent_kernel"].T
        for t in range(steps - 1, -1, -1):
            # a masked step's state is the previous one: its gradient passes on to it, none to a_t
            dA[t] = f.backward(A[t], dh, Y=H[t]) if M is None else f.backward(A[t], dh * M[t])
            if t:
                carried = dA[t] @ UT
                if r is not None:
                    carried *= r
                if M is not None:
                    carried += dh * ~M[t]
                if out is not None:
                    carried += out[t - 1]
                dh = carried
        flat = dA.reshape(-1, units)
        g["kernel"][...] = Xt.reshape(-1, Xt.shape[2]).T @ flat
        previous = H[:-1] if r is None else H[:-1] * r
        g["recurrent_kernel"][...] = previous.reshape(-1, units).T @ dA[1:].reshape(-1, units)
        if self.use_bias:
            g["bias"][...] = flat.sum(axis=0)
        if not need_input_grad:  # the model's first layer: nobody uses dL/dX
            return None
        dX = dA @ p["kernel"].T
        if m is not None:
            dX *= m
        dX = dX.transpose(1, 0, 2)
        return np.ascontiguousarray(dX[:, ::-1] if self.go_backwards else dX)
