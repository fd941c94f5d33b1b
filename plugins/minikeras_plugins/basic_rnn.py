"""A simple (Elman) recurrent layer with its own output projection: the seed's layer.

Keras's SimpleRNN, whose output is its state, is ``simple_rnn`` (:mod:`.simple_rnn`); this one
adds ``y_t = activation(h_t W_y + b_y)`` and is registered as ``basic_rnn`` only.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minikeras_core import Layer, get


class BasicRNN(Layer):
    """Over ``X`` of shape ``(n, timesteps, features)``, with ``h_0 = 0``::

        h_t = hidden_activation(x_t W_x + h_{t-1} W_h + b_h)
        y_t = activation(h_t W_y + b_y)

    The output is ``(n, timesteps, output_units)``, or ``(n, output_units)`` (the last step only)
    when ``return_sequences`` is false. Weights, in order: ``W_x (features, hidden)``,
    ``W_h (hidden, hidden)``, ``b_h (hidden,)``, ``W_y (hidden, output_units)``,
    ``b_y (output_units,)``, started as Keras starts a SimpleRNN followed by a Dense: Glorot
    uniform, orthogonal ``W_h``, zero biases. ``activation=None`` (the default) is linear, as
    is ``hidden_activation=None``.

    ``activation`` is the layer's activation, applied to ``y_t`` by the base class like any
    layer's; ``hidden_activation`` is part of the recurrence and applied here, through its
    vector-Jacobian product, so a non-element-wise one such as softmax works too.

    Forward: ``x_t W_x + b_h`` for every step in one product, then one ``h W_h`` per step, then
    the output projection for every step in one product. Backward through time, with
    ``a_t`` the hidden pre-activation and ``dh_t = dL/dh_t`` from the output and the next step::

        da_t = dh_t * hidden_activation'(a_t),   dh_{t-1} += da_t W_h^T
        dW_x = sum_t x_t^T da_t,  dW_h = sum_t h_{t-1}^T da_t,  db_h = sum_t da_t,  dx_t = da_t W_x^T

    where only the recursion loops over steps; the sums are single products over all steps.
    """

    def __init__(
        self,
        output_units: int,
        hidden_units: int,
        activation: Any = None,
        input_size: tuple | None = None,
        hidden_activation: Any = "tanh",
        return_sequences: bool = True,
        name: str | None = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(activation=activation, input_size=input_size, name=name, dtype=dtype)
        owner = type(self).__name__
        for argument, value in (("output_units", output_units), ("hidden_units", hidden_units)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
                raise ValueError(f"{owner}: {argument} must be a positive integer, got {value!r}")
        self.output_units = int(output_units)
        self.hidden_units = int(hidden_units)
        self.hidden_activation = get("activation", "linear" if hidden_activation is None else hidden_activation)
        self.return_sequences = bool(return_sequences)

    @classmethod
    def conformance_cases(cls) -> list[dict]:
        return [
            {"output_units": 2, "hidden_units": 3, "input_size": (4, 3)},
            {"output_units": 3, "hidden_units": 4, "activation": "softmax", "return_sequences": False, "input_size": (5, 2)},
            {"output_units": 2, "hidden_units": 3, "activation": "sigmoid", "hidden_activation": "relu", "input_size": (3, 2)},
        ]

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        if len(input_shape) != 2:
            raise ValueError(
                f"{self._label}: expects sequences of shape (timesteps, features) per sample, got input shape {input_shape}"
            )
        return (input_shape[0], self.output_units) if self.return_sequences else (self.output_units,)

    def create_weights(self, input_shape: tuple) -> None:
        features, hidden = input_shape[1], self.hidden_units
        self.add_weight("W_x", (features, hidden), "glorot_uniform")
        self.add_weight("W_h", (hidden, hidden), "orthogonal")
        self.add_weight("b_h", (hidden,), "zeros")
        self.add_weight("W_y", (hidden, self.output_units), "glorot_uniform")
        self.add_weight("b_y", (self.output_units,), "zeros")

    def call(self, X: np.ndarray, training: bool = False) -> np.ndarray:
        p, f = self.params, self.hidden_activation
        steps = X.shape[1]
        # time-major inside: each step's rows are contiguous
        A = X.transpose(1, 0, 2) @ p["W_x"]  # (t, n, hidden), a fresh array
        A += p["b_h"]
        H = np.empty_like(A)
        h = None
        for t in range(steps):
            if h is not None:
                A[t] += h @ p["W_h"]
            H[t] = h = f(A[t])
        top = H if self.return_sequences else H[-1]
        Z = top @ p["W_y"]
        Z += p["b_y"]
        if training:
            self._X, self._A, self._H = X, A, H
        # batch-major again, contiguous so that later layers and in-place updates see a plain array
        return np.ascontiguousarray(Z.transpose(1, 0, 2)) if self.return_sequences else Z

    def call_backward(self, grad: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        p, g, f = self.params, self.grads, self.hidden_activation
        A, H, X = self._A, self._H, self._X
        steps, n, hidden = A.shape
        dZ = grad.transpose(1, 0, 2) if self.return_sequences else grad
        top = H if self.return_sequences else H[-1]
        g["W_y"][...] = top.reshape(-1, hidden).T @ dZ.reshape(-1, self.output_units)
        g["b_y"][...] = dZ.reshape(-1, self.output_units).sum(axis=0)
        dH_out = dZ @ p["W_y"].T  # (t, n, hidden) or (n, hidden) for the last step
        dA = np.empty_like(A)
        dh = dH_out[-1] if self.return_sequences else dH_out
        W_hT = p["W_h"].T
        for t in range(steps - 1, -1, -1):
            dA[t] = f.backward(A[t], dh, Y=H[t])
            if t:
                dh = dA[t] @ W_hT
                if self.return_sequences:
                    dh += dH_out[t - 1]
        flat_dA = dA.reshape(-1, hidden)
        g["W_x"][...] = X.transpose(1, 0, 2).reshape(-1, X.shape[2]).T @ flat_dA
        g["W_h"][...] = H[:-1].reshape(-1, hidden).T @ dA[1:].reshape(-1, hidden)
        g["b_h"][...] = flat_dA.sum(axis=0)
        if not need_input_grad:  # the model's first layer: nobody uses dL/dX
            return None
        return (dA @ p["W_x"].T).transpose(1, 0, 2)
