"""Keras's LSTM: long short-term memory, with gates i, f, c, o."""

from __future__ import annotations

from typing import Any

import numpy as np

from minikeras_core.initializers import get_initializer
from minikeras_core.recurrence import Recurrent
from minikeras_core.registry import is_registered_as
from minikeras_core.time_loop import keep_masked, one_blas_thread, sigmoid_of_negated, steps_back


class LSTM(Recurrent):
    """Over ``X`` ``(n, timesteps, features)``, with ``h_0 = c_0 = 0`` and ``z_t = x_t W + h_{t-1} U + b`` cut into
    four gates of ``units`` columns (``s`` the recurrent activation, ``a`` the activation)::

        i = s(z_i),  f = s(z_f),  g = a(z_c),  o = s(z_o),   c_t = f c_{t-1} + i g,   h_t = o a(c_t)

    Keras's weights: ``kernel (features, 4 units)``, ``recurrent_kernel (units, 4 units)``, ``bias (4 units,)``,
    columns i, f, c, o (``unit_forget_bias``: f's bias starts at one). The frame (``Recurrent``) does masks,
    dropout, ``go_backwards``, the input side and the output. Here the columns are kept as o, i, f, c, the
    sigmoid gates side by side; with Keras's activations the kernels come negated (``-2`` on c's), so one
    ``1 / (1 + exp(.))`` a step gives ``s(z)`` and ``s(2 z_c)``, and ``g = 2 s(2 z_c) - 1``. Backward through
    time, with ``dh_t``, ``dc_t`` from the output and step ``t + 1``::

        dc_t += dh_t o a'(c_t),   dz_o = dh_t a(c_t) s'(z_o),  dz_i = dc_t g s'(z_i),  dz_f = dc_t c_{t-1} s'(z_f),
        dz_c = dc_t i a'(z_c),    dc_{t-1} = dc_t f,   dh_{t-1} = dz_t U^T

    where ``a'(z_c) = 4 s'(2 z_c)``: its 4 is folded into the weights of the backward products.
    """

    blocks = 4

    def __init__(self, units: int, activation: Any = "tanh", recurrent_activation: Any = "sigmoid", use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform", recurrent_initializer: Any = "orthogonal", bias_initializer: Any = "zeros",
                 unit_forget_bias: bool = True, kernel_regularizer: Any = None, recurrent_regularizer: Any = None,
                 bias_regularizer: Any = None, activity_regularizer: Any = None, kernel_constraint: Any = None,
                 recurrent_constraint: Any = None, bias_constraint: Any = None, dropout: float = 0.0, recurrent_dropout: float = 0.0,
                 seed: int | None = None, return_sequences: bool = False, return_state: bool = False, go_backwards: bool = False,
                 stateful: bool = False, unroll: bool = False, use_cudnn: Any = "auto", **kwargs: Any) -> None:
        super().__init__(locals())  # the frame takes the arguments every recurrent layer has
        self.unit_forget_bias = bool(unit_forget_bias)
        self._fast = is_registered_as(self.recurrent_activation, "sigmoid") and is_registered_as(self.cell_activation, "tanh")

    @classmethod
    def conformance_cases(cls) -> list[dict]:
        return [
            {"units": 3, "input_size": (4, 2)},
            {"units": 2, "return_sequences": True, "go_backwards": True, "input_size": (3, 3)},
            {"units": 2, "activation": "relu", "recurrent_activation": "softmax", "unit_forget_bias": False, "dropout": 0.3,
             "recurrent_dropout": 0.4, "return_sequences": True, "input_size": (3, 2)},
        ]

    def _bias(self, width: int) -> tuple:
        """With ``unit_forget_bias``, Keras's three calls: i's bias, ones for f, then c's and o's."""
        u, init = self.units, get_initializer(self.bias_initializer)

        def forget_at_one(shape: tuple, dtype: Any = None, rng: Any = None) -> np.ndarray:
            return np.concatenate([init((u,), dtype, rng), np.ones(u, dtype), init((2 * u,), dtype, rng)])

        return (width,), forget_at_one if self.unit_forget_bias else init

    def _layout(self) -> tuple:
        """The columns in the order o, i, f, c, and the factor each gets in the forward products."""
        u = self.units
        order = np.r_[3 * u : 4 * u, 0 : 3 * u]
        scale = np.repeat(np.array([-1, -1, -1, -2] if self._fast else [1, 1, 1, 1], dtype=self.dtype), u)
        return order, scale

    def _forward(self, Xt: np.ndarray, M: Any, m: Any, r: Any, training: bool) -> np.ndarray:
        p, u, fast = self.params, self.units, self._fast
        order, scale = self._layout()
        m, r = (k if k is None or len(k) == 1 else k[[3, 0, 1, 2]] for k in (m, r))  # per-gate masks in the same order
        b, W = p["bias"][order] * scale if self.use_bias else None, p["kernel"][:, order] * scale
        steps, n = Xt.shape[:2]
        # Training keeps every step for backward. Inference keeps two steps of state (the arrays below are indexed
        # modulo their length) and projects the input a chunk of steps at a time: its memory does not grow with steps.
        kept = steps if training else 1
        # P[t] = [g_t, c_{t-1}] side by side, so that [i, f] * P[t] is one product; c_t is kept as P[t + 1]'s second half
        P = np.empty((kept + 1, n, 2 * u), Xt.dtype)
        P[0, :, u:] = 0
        TC = np.empty((kept, n, u), Xt.dtype)  # a(c_t)
        H = np.empty((steps if training or self.return_sequences else 2, n, u), Xt.dtype)  # h_t
        U, step, two = p["recurrent_kernel"][:, order] * scale, np.empty((n, 4 * u), Xt.dtype), np.empty((n, 2 * u), Xt.dtype)
        with np.errstate(over="ignore"), one_blas_thread():  # exp(large) is inf, and 1 / (1 + inf) the sigmoid's 0
            for first, G in self._projected_chunks(Xt, m, W, b, training):  # (steps, n, 4 units): the input side
                Z = None if fast else np.empty_like(G)  # the pre-activations, for activations other than Keras's
                for t in range(first, first + len(G)):
                    z, now, then, h = G[t - first], P[t % len(P)], P[(t + 1) % len(P)], H[t % len(H)]
                    g, c, tc = now[:, :u], then[:, u:], TC[t % len(TC)]
                    if t:
                        z += self._times_recurrent(H[(t - 1) % len(H)], U, r, step)
                    if fast:
                        sigmoid_of_negated(z)
                        np.multiply(z[:, 3 * u :], 2, out=g)
                        g -= 1
                    else:
                        Z[t - first] = z
                        z[:, : 3 * u] = self._per_block(self.recurrent_activation, Z[t - first][:, : 3 * u])
                        g[...] = self.cell_activation(Z[t - first][:, 3 * u :])
                    np.multiply(z[:, u : 3 * u], now, out=two)  # i g and f c_{t-1}
                    np.add(two[:, :u], two[:, u:], out=c)
                    if fast:
                        np.tanh(c, out=tc)
                    else:
                        tc[...] = self.cell_activation(c)
                    np.multiply(z[:, :u], tc, out=h)
                    keep_masked(c, now[:, u:] if t else None, M, t)
                    keep_masked(h, H[(t - 1) % len(H)] if t else None, M, t)
        if training:
            self._cache = (Xt, G, Z, P, TC, H, m, r)
        return H if len(H) == steps else H[(steps - 1) % len(H)][None]

    def _backward(self, dH: np.ndarray | None, dh: np.ndarray, need_input_grad: bool) -> np.ndarray | None:
        p, g, u, M, fast = self.params, self.grads, self.units, self._M, self._fast
        Xt, G, Z, P, TC, H, m, r = self._cache
        order, _ = self._layout()
        back = np.repeat(np.array([1, 1, 1, 4 if fast else 1], dtype=G.dtype), u)  # dz = dz' * back: c's 4 comes in here
        W, U = p["kernel"][:, order] * back, p["recurrent_kernel"][:, order] * back
        n = G.shape[1]
        dc, a, E, D = np.zeros_like(dh), np.empty_like(dh), np.empty((n, 4 * u), G.dtype), np.empty((n, 4 * u), G.dtype)
        E4 = E.reshape(n, 4, u)
        with one_blas_thread():  # small products: one thread when the machine is busy
            for t in steps_back(len(G), M, dH, dh, dc):  # dh, dc: step t's gradients, made step t - 1's here
                y = G[t]  # s(z_o), s(z_i), s(z_f) and s(2 z_c) (or the activation of z_c)
                if fast:  # o (1 - a(c)^2) = o - h a(c)
                    np.subtract(y[:, :u], np.multiply(H[t], TC[t], out=a), out=a)
                    dc += np.multiply(a, dh, out=a)
                else:
                    dc += self.cell_activation.backward(P[t + 1, :, u:], dh * y[:, :u], Y=TC[t])
                np.multiply(dh, TC[t], out=E[:, :u])
                np.multiply(P[t].reshape(n, 2, u), dc[:, None, :], out=E4[:, 1:3])  # dc g and dc c_{t-1}
                np.multiply(dc, y[:, u : 2 * u], out=E[:, 3 * u :])
                dc *= y[:, 2 * u : 3 * u]
                if fast:  # s' = s (1 - s) on every block; the pre-activations' gradients replace the gates
                    np.subtract(1, y, out=D)
                    D *= y
                    np.multiply(D, E, out=y)
                else:
                    y[:, : 3 * u] = self._per_block_backward(self.recurrent_activation, Z[t][:, : 3 * u], E[:, : 3 * u], y[:, : 3 * u])
                    y[:, 3 * u :] = self.cell_activation.backward(Z[t][:, 3 * u :], E[:, 3 * u :], Y=P[t, :, :u])
                if t:
                    self._times_recurrent_transposed(y, U, r, out=dh)
        dW, db, dXt = self._input_grads(Xt, G, m, W, need_input_grad)  # G holds the dz' of every step now
        g["kernel"][:, order], g["recurrent_kernel"][:, order] = dW * back, self._recurrent_grads(H, G, r) * back
        if self.use_bias:
            g["bias"][order] = db * back
        return dXt
