"""Keras's SimpleRNN: a fully connected recurrent layer whose output is its state."""

from __future__ import annotations

from typing import Any

import numpy as np

from minikeras_core.recurrence import Recurrent
from minikeras_core.time_loop import keep_masked, one_blas_thread, steps_back


class SimpleRNN(Recurrent):
    """Over ``X`` of shape ``(n, timesteps, features)``, with ``h_0 = 0``::

        h_t = activation(x_t W + h_{t-1} U + b)

    ``W = kernel (features, units)`` (Glorot uniform), ``U = recurrent_kernel (units, units)``
    (orthogonal), ``b = bias (units,)`` (zeros), in that order, as Keras. The output is every
    ``h_t``, ``(n, timesteps, units)``, with ``return_sequences``, else the last, ``(n, units)``.
    ``go_backwards`` reads the steps last to first (and returns the states in that order, as
    Keras). ``activation`` belongs to the recurrence (``None``: linear), applied here through its
    vector-Jacobian product, so the base class applies none.

    The frame (:class:`minikeras_core.recurrence.Recurrent`) does the rest, as for LSTM and GRU:
    ``dropout`` and ``recurrent_dropout`` while training (one mask per sequence, on ``x_t`` and on
    ``h_{t-1}``), a mask of steps from a previous layer (a masked step keeps the state), every
    step's input projection in one product. Backward through time, with ``a_t`` the
    pre-activation and ``dh_t`` from the output and step ``t + 1``::

        da_t = dh_t * activation'(a_t),   dh_{t-1} = (da_t U^T) * r
        dW = sum_t (x_t * m)^T da_t,  dU = sum_t (h_{t-1} * r)^T da_t,  db = sum_t da_t,  dx_t = (da_t W^T) * m

    ``return_state=True`` (two outputs), ``stateful`` and regularizers or constraints are
    refused; ``unroll`` changes nothing here.
    """

    def __init__(self, units: int, activation: Any = "tanh", use_bias: bool = True, kernel_initializer: Any = "glorot_uniform",
                 recurrent_initializer: Any = "orthogonal", bias_initializer: Any = "zeros", kernel_regularizer: Any = None,
                 recurrent_regularizer: Any = None, bias_regularizer: Any = None, activity_regularizer: Any = None,
                 kernel_constraint: Any = None, recurrent_constraint: Any = None, bias_constraint: Any = None,
                 dropout: float = 0.0, recurrent_dropout: float = 0.0, return_sequences: bool = False, return_state: bool = False,
                 go_backwards: bool = False, stateful: bool = False, unroll: bool = False, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(locals())  # the frame takes the arguments every recurrent layer has

    @classmethod
    def conformance_cases(cls) -> list[dict]:
        return [
            {"units": 3, "input_size": (4, 2)},
            {"units": 2, "activation": "relu", "return_sequences": True, "go_backwards": True, "input_size": (3, 3)},
            {"units": 3, "activation": "softmax", "use_bias": False, "dropout": 0.3, "recurrent_dropout": 0.4,
             "return_sequences": True, "input_size": (3, 2)},
        ]

    def _forward(self, Xt: np.ndarray, M: np.ndarray | None, m: Any, r: Any, training: bool) -> np.ndarray:
        p, f = self.params, self.cell_activation
        A = self._project(Xt, m, p["kernel"], p.get("bias"))  # (t, n, units): every step's input projection in one product
        H = np.empty_like(A) if training else A  # predicting, each state overwrites its own pre-activation
        U, step = p["recurrent_kernel"], np.empty_like(A[0])
        with one_blas_thread():  # small products: one thread when the machine is busy
            for t in range(len(A)):
                if t:
                    A[t] += self._times_recurrent(H[t - 1], U, r, step)
                H[t] = f(A[t])
                keep_masked(H[t], H[t - 1] if t else None, M, t)
        if training:
            self._cache = (Xt, A, H, m, r)
        return H

    def _backward(self, dH: np.ndarray | None, dh: np.ndarray, need_input_grad: bool) -> np.ndarray | None:
        p, g, f, M = self.params, self.grads, self.cell_activation, self._M
        Xt, A, H, m, r = self._cache
        U = p["recurrent_kernel"]
        dA = np.empty_like(A)
        with one_blas_thread():
            for t in steps_back(len(A), M, dH, dh):  # dh: step t's gradient, made step t - 1's here
                dA[t] = f.backward(A[t], dh, Y=H[t] if M is None else None)
                if t:
                    self._times_recurrent_transposed(dA[t], U, r, out=dh)
        dW, db, dXt = self._input_grads(Xt, dA, m, p["kernel"], need_input_grad)
        g["kernel"][...], g["recurrent_kernel"][...] = dW, self._recurrent_grads(H, dA, r)
        if self.use_bias:
            g["bias"][...] = db
        return dXt
