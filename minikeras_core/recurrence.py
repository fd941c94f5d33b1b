"""The frame Keras's recurrent layers (SimpleRNN, LSTM, GRU) share around their cells' steps.

A recurrent layer reads ``X`` of shape ``(n, timesteps, features)`` one step at a time. Here every
one works time-major, on ``Xt`` of shape ``(timesteps, n, features)`` in the order the steps are
read (last to first with ``go_backwards``), so that a step's rows are contiguous. :class:`Recurrent`
does everything that does not depend on the cell:

- the arguments every one takes (``units``, ``dropout``, ``recurrent_dropout``, ``seed``,
  ``return_sequences``, ``go_backwards``, ``unroll``), and what a Sequential cannot do refused by name;
- dropout masks fixed per sequence, Keras's way: an input mask ``m`` (features) and a recurrent mask
  ``r`` (units) per sample, or one of each per gate when ``recurrent_dropout`` is set (Keras's
  ``implementation=1``), drawn with :meth:`Layer.random_uniform` and scaled by ``1 / (1 - rate)``;
- the input side, with the columns in whatever order the cell keeps them: the steps' projections
  ``A_t = (x_t * m) W + b`` a block of steps per product, and back ``dW = sum_t (x_t * m)^T dA_t``,
  ``dX = (dA W^T) * m``; with a free core those batch products run on a helper thread beside the
  time loop (:class:`~minikeras_core.timeloop.Blocks`), the same numbers either way;
- the recurrent product ``(h * r) U`` of a step, its transpose, and ``dU = sum_t (h_{t-1} * r)^T dZ_t``;
- BLAS held to one thread around the time loops (:func:`~minikeras_core.timeloop.one_blas_thread`);
- a mask of steps ``(n, timesteps)`` from a previous layer (``Embedding(mask_zero=True)``): a masked
  step keeps every state (zeros before the first) and passes its gradient on unchanged, as Keras;
- the output (every state, in reading order, with ``return_sequences``; else the last) and its gradient.

A cell implements ``_forward(Xt, M, m, r, training)``, returning the states ``H`` ``(timesteps, n,
units)`` and keeping what its backward needs, and ``_backward(dH, dh, need_input_grad)``: ``dH`` is the
gradient reaching each step's output ``(timesteps, n, units)`` (or ``None``), ``dh`` the last state's
(or ``None``); it writes the weight gradients and returns ``dL/dXt`` (or ``None``). ``M`` is the mask
``(timesteps, n, 1)`` or ``None``; ``m`` and ``r`` are ``(count, n, features)`` / ``(count, n, units)`` or ``None``.
Both loops go through ``self._blocks(work, Xt, W)``: ``ahead()``/``need(t)`` around the forward's
projections, ``done(t)``/``close()`` around the backward's ``_input_grads`` and ``_recurrent_grads``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from . import timeloop
from .arguments import fraction, non_negative_int, positive_int
from .layer import Layer
from .registry import get
from .timeloop import Blocks, matmul_k, one_blas_thread, sum_over_steps

__all__ = ["Recurrent", "keep_masked", "one_blas_thread", "split_masked", "sum_over_steps"]


class Recurrent(Layer):
    """The frame of a recurrent layer whose kernel has ``blocks`` blocks of ``units`` columns (its gates)."""

    #: How many blocks of ``units`` columns the kernels have: one per gate (SimpleRNN 1, LSTM 4, GRU 3).
    blocks = 1

    #: Masked steps output zeros in a returned sequence instead of the state they keep (Keras's
    #: ``zero_output_for_mask``, which Bidirectional sets on the layers it wraps).
    zero_output_for_mask = False

    def __init__(self, units: int, activation: Any, dropout: float, recurrent_dropout: float, seed: int | None,
                 return_sequences: bool, return_state: bool, go_backwards: bool, stateful: bool, unroll: bool,
                 refused: dict, **kwargs: Any) -> None:
        super().__init__(**kwargs)  # no activation for the base: the recurrence applies its own
        owner = type(self).__name__
        for argument, value in {**refused, "return_state": return_state or None, "stateful": stateful or None}.items():
            if value is not None:
                raise ValueError(f"{owner}: {argument}={value!r} is not supported (a Sequential layer has one output and "
                                 f"no state between batches; there are no regularizers or constraints); leave it at its default")
        self.units = positive_int(units, "units", owner)
        self.cell_activation = get("activation", "linear" if activation is None else activation)
        self.dropout = fraction(dropout, "dropout", owner, include_one=True)
        self.recurrent_dropout = fraction(recurrent_dropout, "recurrent_dropout", owner, include_one=True)
        self.seed = None if seed is None else non_negative_int(seed, "seed", owner)
        self.return_sequences, self.go_backwards, self.unroll = bool(return_sequences), bool(go_backwards), bool(unroll)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        if len(input_shape) != 2:
            raise ValueError(f"{self._label}: expects sequences of shape (timesteps, features) per sample, got input shape {input_shape}")
        return (input_shape[0], self.units) if self.return_sequences else (self.units,)

    def compute_mask(self, X: np.ndarray, mask: np.ndarray | None) -> np.ndarray | None:
        return mask if self.return_sequences else None

    # -- the frame ------------------------------------------------------------------------------
    def call(self, X: np.ndarray, training: bool = False, mask: np.ndarray | None = None) -> np.ndarray:
        Xt = (X[:, ::-1] if self.go_backwards else X).transpose(1, 0, 2)
        Xt = np.ascontiguousarray(Xt)  # time-major: each step's rows together
        M = None
        if mask is not None:
            if np.shape(mask) != X.shape[:2]:
                raise ValueError(f"{self._label}: mask must have shape (batch, timesteps) {X.shape[:2]}, got {np.shape(mask)}")
            mask = np.asarray(mask, dtype=bool)
            M = None if mask.all() else np.ascontiguousarray(mask[:, ::-1 if self.go_backwards else 1].T)[..., None]
        m, r = self._dropout_masks(X, training)
        self._overlap = timeloop.free_core()  # asked before a loop holds BLAS to one thread
        H = self._forward(Xt, M, m, r, training)
        self._M = M if training else None
        if not self.return_sequences:
            return H[-1].copy()
        if self.zero_output_for_mask and M is not None:
            return (H * M).transpose(1, 0, 2).copy()
        return np.ascontiguousarray(H.transpose(1, 0, 2))

    def call_backward(self, grad: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        M, dH, dh = self._M, None, None
        if self.return_sequences:
            dH = grad.transpose(1, 0, 2)
            if self.zero_output_for_mask and M is not None:
                dH = dH * M
        else:
            dh = grad
        self._overlap = timeloop.free_core()
        dXt = self._backward(dH, dh, need_input_grad)
        if dXt is None or not need_input_grad:  # the model's first layer: nobody uses dL/dX
            return None
        dX = dXt.transpose(1, 0, 2)
        return np.ascontiguousarray(dX[:, ::-1] if self.go_backwards else dX)

    def _dropout_masks(self, X: np.ndarray, training: bool) -> tuple:
        """The scaled input and recurrent masks, ``(count, n, features)`` and ``(count, n, units)``, or ``None`` each."""
        if not training or not (self.dropout or self.recurrent_dropout):
            return None, None
        n, features = len(X), X.shape[2]
        count = self.blocks if self.recurrent_dropout else 1  # one per gate only with recurrent dropout, as Keras
        u = self.random_uniform((n, count * (features + self.units)), self.seed)  # one draw per sample for all masks
        masks = []
        for rate, part, width in ((self.dropout, u[:, : count * features], features), (self.recurrent_dropout, u[:, count * features :], self.units)):
            scale = X.dtype.type(0 if rate == 1 else 1 / (1 - rate))
            masks.append(None if not rate else ((part >= rate) * scale).astype(X.dtype).reshape(n, count, width).transpose(1, 0, 2).copy())
        return tuple(masks)

    def _columns(self, total: int) -> list[slice]:
        """The blocks of ``units`` columns (one per gate) of a kernel with ``total`` columns."""
        u = self.units
        return [slice(j * u, (j + 1) * u) for j in range(total // u)]

    # -- the input side -------------------------------------------------------------------------
    def _project(self, Xt: np.ndarray, m: np.ndarray | None, W: np.ndarray, b: np.ndarray | None, out: np.ndarray) -> np.ndarray:
        """``out = (x_t * m) W + b`` for the steps of ``Xt`` ``(t, n, features)`` at once; ``m`` per column block of ``W``."""
        if m is None or len(m) == 1:
            np.matmul(Xt if m is None else Xt * m[0], W, out=out)
        else:
            for j, cols in enumerate(self._columns(W.shape[1])):
                np.matmul(Xt * m[j], W[:, cols], out=out[..., cols])
        if b is not None:
            out += b
        return out

    def _input_grads(self, lo: int, hi: int, Xt: np.ndarray, dA: np.ndarray, m: np.ndarray | None, W: np.ndarray, sums: dict) -> None:
        """For ``A = (Xt * m) W + b``, steps ``lo .. hi - 1``: add their share to ``sums["dW"]`` and ``sums["db"]``, and
        write their ``dL/dXt`` into ``sums["dX"]`` (unless it is ``None``)."""
        x, d = Xt[lo:hi], dA[lo:hi]
        if m is None or len(m) == 1:
            sums["dW"] += sum_over_steps(x if m is None else x * m[0], d)
        else:
            for j, cols in enumerate(self._columns(W.shape[1])):
                sums["dW"][:, cols] += sum_over_steps(x * m[j], d[..., cols])
        sums["db"] += d.reshape(-1, d.shape[2]).sum(axis=0)
        if sums["dX"] is None:
            return
        if m is None or len(m) == 1:
            matmul_k(d.reshape(-1, d.shape[2]), W.T, sums["dX"][lo:hi].reshape(-1, W.shape[0]))
            if m is not None:
                sums["dX"][lo:hi] *= m[0]
        else:
            sums["dX"][lo:hi] = sum((d[..., cols] @ W[:, cols].T) * m[j] for j, cols in enumerate(self._columns(W.shape[1])))

    def _sums(self, Xt: np.ndarray, W: np.ndarray, U: np.ndarray, need_input_grad: bool) -> dict:
        """Zeroed accumulators of the gradients of ``W``, its bias and ``U``, and room for ``dL/dXt`` when needed."""
        return {"dW": np.zeros_like(W), "db": np.zeros(W.shape[1], W.dtype), "dU": np.zeros_like(U),
                "dX": np.empty_like(Xt) if need_input_grad else None}

    def _blocks(self, work: Callable[[int, int], Any], Xt: np.ndarray, W: np.ndarray) -> Blocks:
        """The steps of ``Xt`` in blocks for ``work`` (see :class:`Blocks`): on a helper thread when the layer's call
        found a free core and the input projection ``Xt W`` is large enough to pay for the hand-overs."""
        large = Xt.size * W.shape[1] >= timeloop.MIN_OVERLAP_WORK
        return Blocks(work, len(Xt), large and getattr(self, "_overlap", False))

    # -- the recurrent side ---------------------------------------------------------------------
    def _times_recurrent(self, h: np.ndarray, U: np.ndarray, r: np.ndarray | None, out: np.ndarray) -> np.ndarray:
        """``out = (h * r) U``, with each gate's own mask when there is one per gate."""
        if r is None or len(r) == 1:
            return np.matmul(h if r is None else h * r[0], U, out=out)
        for j, cols in enumerate(self._columns(U.shape[1])):
            np.matmul(h * r[j], U[:, cols], out=out[:, cols])
        return out

    def _times_recurrent_transposed(self, dZ: np.ndarray, U: np.ndarray, r: np.ndarray | None, out: np.ndarray) -> np.ndarray:
        """``out = dL/dh`` for ``Z = (h * r) U``, given ``dZ``."""
        if r is None or len(r) == 1:
            matmul_k(dZ, U.T, out)
            return out if r is None else np.multiply(out, r[0], out=out)
        out[...] = sum((dZ[:, cols] @ U[:, cols].T) * r[j] for j, cols in enumerate(self._columns(U.shape[1])))
        return out

    def _recurrent_grads(self, lo: int, hi: int, H: np.ndarray, dZ: np.ndarray, r: np.ndarray | None, dU: np.ndarray) -> None:
        """Add ``sum_t (h_{t-1} * r)^T dZ_t`` over steps ``lo .. hi - 1`` to ``dU`` (``h_{-1} = 0``: step 0 adds nothing)."""
        lo = max(lo, 1)
        if lo >= hi:
            return
        h, d = H[lo - 1 : hi - 1], dZ[lo:hi]
        if r is None or len(r) == 1:
            dU += sum_over_steps(h if r is None else h * r[0], d)
        else:
            for j, cols in enumerate(self._columns(dZ.shape[2])):
                dU[:, cols] += sum_over_steps(h * r[j], d[..., cols])


def keep_masked(new: np.ndarray, previous: np.ndarray | None, M: np.ndarray | None, t: int) -> None:
    """A masked step keeps the state before it (zeros before the first): ``new = where(M[t], new, previous)`` in place."""
    if M is not None:
        if previous is None:
            np.multiply(new, M[t], out=new)
        else:
            np.copyto(new, previous, where=~M[t])


def split_masked(d: np.ndarray, M: np.ndarray | None, t: int) -> np.ndarray | None:
    """For a state's gradient ``d`` at step ``t``: zero it in place where the step is masked, returning what goes straight
    on to the previous state there (``None`` without a mask)."""
    if M is None:
        return None
    skip = np.where(M[t], 0, d)
    np.multiply(d, M[t], out=d)
    return skip
