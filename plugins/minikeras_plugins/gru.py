"""Keras's GRU: the gated recurrent unit, with gates z, r, h and the reset gate after or before the product."""

from __future__ import annotations

from typing import Any

import numpy as np

from minikeras_core.activation import derives_from_output
from minikeras_core.recurrence import Recurrent
from minikeras_core.registry import is_registered_as
from minikeras_core.time_loop import keep_masked, one_blas_thread, over_steps, sigmoid_of_negated, steps_back


class GRU(Recurrent):
    """Over ``X`` of shape ``(n, timesteps, features)``, with ``h_0 = 0`` (``s`` the recurrent activation, ``a`` the
    activation, ``W``, ``U`` cut into blocks z, r, h of ``units`` columns)::

        z = s(x W_z + h U_z + b_z),  r = s(x W_r + h U_r + b_r),  h_t = z h_{t-1} + (1 - z) hh
        hh = a(x W_h + r (h U_h + b'_h))     with reset_after (Keras's default; b' the recurrent bias)
        hh = a(x W_h + (r h) U_h + b_h)      without

    (``h`` being ``h_{t-1}``). Weights as Keras: ``kernel (features, 3 units)``, ``recurrent_kernel
    (units, 3 units)``, ``bias (2, 3 units)`` (input and recurrent biases) with ``reset_after``, else
    ``(3 units,)``. The frame (:class:`~minikeras_core.recurrence.Recurrent`) does masks, dropout (one
    mask per sequence, one per gate with ``recurrent_dropout``, as Keras), ``go_backwards`` and the
    input side. With Keras's activations the sigmoid of z and r is ``1 / (1 + exp(.))`` on negated
    kernels. Backward through time, ``dh`` from the output and step ``t + 1``, ``R = h U_h + b'_h``::

        dhh' = dh (1 - z) a'(.),  dz' = dh (h - hh) s'(.),  dr' = dhh' R s'(.)   (reset_after; else dr' = (dhh' U_h^T) h s'(.))
        dh_{t-1} = dh z + [dz', dr', dhh' r] U^T                                (else [dz', dr'] U_zr^T + (dhh' U_h^T) r)
    """

    blocks = 3

    def __init__(self, units: int, activation: Any = "tanh", recurrent_activation: Any = "sigmoid", use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform", recurrent_initializer: Any = "orthogonal", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, recurrent_regularizer: Any = None, bias_regularizer: Any = None,
                 activity_regularizer: Any = None, kernel_constraint: Any = None, recurrent_constraint: Any = None,
                 bias_constraint: Any = None, dropout: float = 0.0, recurrent_dropout: float = 0.0, seed: int | None = None,
                 return_sequences: bool = False, return_state: bool = False, go_backwards: bool = False, stateful: bool = False,
                 unroll: bool = False, reset_after: bool = True, use_cudnn: Any = "auto", **kwargs: Any) -> None:
        super().__init__(locals())  # the frame takes the arguments every recurrent layer has
        self.reset_after = bool(reset_after)
        self._fast = is_registered_as(self.recurrent_activation, "sigmoid")

    @classmethod
    def conformance_cases(cls) -> list[dict]:
        return [
            {"units": 3, "input_size": (4, 2)},
            {"units": 2, "reset_after": False, "return_sequences": True, "go_backwards": True, "input_size": (3, 3)},
            {"units": 2, "activation": "relu", "recurrent_activation": "softmax", "dropout": 0.3, "recurrent_dropout": 0.4,
             "return_sequences": True, "input_size": (3, 2)},
            {"units": 2, "reset_after": False, "dropout": 0.2, "recurrent_dropout": 0.5, "input_size": (3, 2)},
        ]

    def _bias(self, width: int) -> tuple:
        return ((2, width) if self.reset_after else (width,)), self.bias_initializer

    def _biases(self) -> tuple:
        """The input bias and the recurrent one (``None`` each when absent)."""
        if not self.use_bias:
            return None, None
        b = self.params["bias"]
        return (b[0], b[1]) if self.reset_after else (b, None)

    def _forward(self, Xt: np.ndarray, M: Any, m: Any, r: Any, training: bool) -> np.ndarray:
        p, u, fast, after = self.params, self.units, self._fast, self.reset_after
        scale = np.repeat(np.array([-1 if fast else 1] * 2 + [1], dtype=self.dtype), u)  # negated z and r: exp gives 1/s - 1
        b, b_rec = self._biases()
        b_rec = None if b_rec is None else b_rec * scale
        W, b, U = p["kernel"] * scale, None if b is None else b * scale, p["recurrent_kernel"] * scale
        steps, n = Xt.shape[:2]
        # Prediction keeps two states and no R, and projects the input a chunk of steps at a time (see the LSTM).
        H = np.empty((steps if training or self.return_sequences else 2, n, u), Xt.dtype)  # states
        R = np.empty((steps if training else 1, n, u), Xt.dtype)  # h U_h + b'_h (reset_after) or (r h) (else)
        rec, zero = np.zeros((n, (3 if after else 2) * u), Xt.dtype), np.zeros((n, u), Xt.dtype)
        rm = None if r is None else r[-1]  # the recurrent mask of the h block (the only one, or the third)
        with np.errstate(over="ignore"), one_blas_thread():
            for first, A in self._projected_chunks(Xt, m, W, b, training):  # (steps, n, 3 units): the input side
                Z = None if fast and derives_from_output(self.cell_activation) else np.empty_like(A)  # pre-activations
                for t in range(first, first + len(A)):
                    a, h, ht, Rt = A[t - first], H[(t - 1) % len(H)] if t else zero, H[t % len(H)], R[t % len(R)]
                    if t:
                        self._times_recurrent(h, U if after else U[:, : 2 * u], r, rec)
                    if b_rec is not None:  # at t = 0 (h = 0) only the bias
                        rec += b_rec
                    a[:, : 2 * u] += rec[:, : 2 * u]
                    if Z is not None:
                        Z[t - first][:, : 2 * u] = a[:, : 2 * u]
                    if fast:
                        sigmoid_of_negated(a[:, : 2 * u])
                    else:
                        a[:, : 2 * u] = self._per_block(self.recurrent_activation, Z[t - first][:, : 2 * u])
                    if after:
                        Rt[...] = rec[:, 2 * u :]
                        a[:, 2 * u :] += a[:, u : 2 * u] * Rt
                    else:
                        np.multiply(a[:, u : 2 * u], h if rm is None else h * rm, out=Rt)
                        if t:
                            a[:, 2 * u :] += Rt @ p["recurrent_kernel"][:, 2 * u :]
                    if Z is not None:
                        Z[t - first][:, 2 * u :] = a[:, 2 * u :]
                    a[:, 2 * u :] = self.cell_activation(a[:, 2 * u :])
                    np.subtract(h, a[:, 2 * u :], out=ht)  # h_t = hh + z (h_{t-1} - hh)
                    ht *= a[:, :u]
                    ht += a[:, 2 * u :]
                    keep_masked(ht, H[(t - 1) % len(H)] if t else None, M, t)
        if training:
            self._cache = (Xt, A, Z, H, R, m, r)
        return H if len(H) == steps else H[(steps - 1) % len(H)][None]

    def _backward(self, dH: np.ndarray | None, dh: np.ndarray, need_input_grad: bool) -> np.ndarray | None:
        p, g, u, M, after = self.params, self.grads, self.units, self._M, self.reset_after
        Xt, A, Z, H, R, m, r = self._cache
        U, s = p["recurrent_kernel"], self.recurrent_activation
        steps, n = A.shape[:2]
        rm = None if r is None else r[-1]
        dR = np.empty((steps, n, (3 if after else 2) * u), A.dtype)  # the gradient of the recurrent product (plus b')
        zero, e, direct = np.zeros((n, u), A.dtype), np.empty((n, u), A.dtype), np.empty((n, u), A.dtype)
        with one_blas_thread():  # small products: one thread when the machine is busy
            for t in steps_back(steps, M, dH, dh):  # dh: step t's gradient, made step t - 1's here
                a, h = A[t], H[t - 1] if t else zero
                np.multiply(dh, a[:, :u], out=direct)  # dh z: straight to h_{t-1}
                dhh = self.cell_activation.backward(None if Z is None else Z[t][:, 2 * u :], dh - direct, Y=a[:, 2 * u :])
                np.multiply(np.subtract(h, a[:, 2 * u :], out=e), dh, out=e)  # dL/dz
                if after:
                    dr = dhh * R[t]
                    np.multiply(dhh, a[:, u : 2 * u], out=dR[t][:, 2 * u :])
                else:
                    d_rh = dhh @ U[:, 2 * u :].T  # through (r h) U_h
                    dr = d_rh * (h if rm is None else h * rm)
                    direct += d_rh * a[:, u : 2 * u] * (1 if rm is None else rm)
                if self._fast:
                    np.multiply(e, a[:, :u] * (1 - a[:, :u]), out=dR[t][:, :u])
                    np.multiply(dr, a[:, u : 2 * u] * (1 - a[:, u : 2 * u]), out=dR[t][:, u : 2 * u])
                else:
                    dR[t][:, : 2 * u] = self._per_block_backward(s, Z[t][:, : 2 * u], np.concatenate([e, dr], axis=1), a[:, : 2 * u])
                a[:, : 2 * u], a[:, 2 * u :] = dR[t][:, : 2 * u], dhh  # A[t] becomes the gradient of the input projection
                if t:
                    self._times_recurrent_transposed(dR[t], U if after else U[:, : 2 * u], r, out=dh)
                    dh += direct
        dW, db, dXt = self._input_grads(Xt, A, m, p["kernel"], need_input_grad)
        g["kernel"][...] = dW
        g["recurrent_kernel"][:, : dR.shape[2]] = self._recurrent_grads(H, dR, r)
        if not after:  # (r h) U_h
            g["recurrent_kernel"][:, 2 * u :] = over_steps(R).T @ over_steps(A[..., 2 * u :])
        if self.use_bias:
            g["bias"][...] = np.stack([db, over_steps(dR).sum(axis=0)]) if after else db
        return dXt
