"""Patch matrices (im2col) for sliding-window layers: every window of a batch of images as one row.

For a padded batch ``Xp`` ``(n, hp, wp, c)``, a ``(kh, kw)`` window, strides ``(sh, sw)`` and a
dilation ``(dh, dw)`` (every function takes ``dilation=``, ``(1, 1)`` by default), the patch matrix
``P`` has one row per window (sample, then output row, then output column) and one column per
window cell ``(i, j, ch)``, in the order of a Keras kernel ``(kh, kw, c, filters)`` flattened over
its first three axes::

    P[(b * out_h + y) * out_w + x, (i * kw + j) * c + ch] = Xp[b, y*sh + i*dh, x*sw + j*dw, ch]

so that a convolution is one product, ``Z = P @ kernel.reshape(-1, filters)`` (a 1-D one too, on
its sequences as images of height 1). With ``ones=True`` ``P`` gets a last column of ones, so
that ``[P 1] @ [W; bias]`` adds a bias inside the product.

Two ways to gather ``P``, chosen by ``gather`` from the channel count (each measured the faster
one on its side of ``NARROW_CHANNELS``):

- ``gather_wide``: a copy of ``spatial.windows``' strided view; each window cell is a
  contiguous run of ``c`` values, which copies fast when ``c`` is not small.
- ``gather_narrow``: runs of a few values copy slowly, so ``P`` is built transposed: kernel
  offset ``(i, j)`` copies its strided grid of inputs into ``c`` contiguous rows of ``P^T``,
  one offset at a time. The result is the transposed view, which BLAS takes as it is.

``P`` is ``kh * kw`` times larger than the input; ``blocks`` yields it a block of samples at a
time in one reused buffer, so that no batch-sized ``P`` exists and each block's product and
whatever follows it run on data still in the CPU cache.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from . import spatial

#: Layers with fewer input channels gather with ``gather_narrow``.
NARROW_CHANNELS = 8

#: Samples per block of ``blocks``. About 200 KiB of temporaries per sample for the benchmark
#: CNN's layers, so a block's patches and product stay in the CPU cache between steps (measured
#: best from 8 to 32; 32 makes the fewest BLAS calls).
BLOCK_SAMPLES = 32


def is_narrow(channels: int) -> bool:
    """Whether ``gather`` builds ``P`` transposed (``gather_narrow``) for inputs of ``channels`` channels."""
    return channels < NARROW_CHANNELS


def columns(k: tuple[int, int], channels: int, ones: bool = False) -> int:
    """The number of columns of ``P``: ``kh * kw * channels``, plus one for the ones column."""
    return k[0] * k[1] * channels + int(ones)


def _destination(buffer: np.ndarray | None, size: int, dtype: np.dtype) -> np.ndarray:
    """A flat array of ``size`` values: the front of ``buffer``, or a new one."""
    return np.empty(size, dtype=dtype) if buffer is None else buffer[:size]


def gather_wide(Xp: np.ndarray, k: tuple[int, int], s: tuple[int, int], out: tuple[int, int], *,
                ones: bool = False, buffer: np.ndarray | None = None, dilation: tuple[int, int] = (1, 1)) -> np.ndarray:
    """``P`` as a C-contiguous ``(rows, columns)`` array: a copy of the strided window view.

    Written into the front of the flat ``buffer`` when one is given (it must have room), else
    into a new array.
    """
    windows = spatial.windows(Xp, k, s, out, dilation)  # (n, out_h, out_w, kh, kw, c)
    rows, width = windows.shape[0] * out[0] * out[1], columns(k, Xp.shape[3], ones)
    P = _destination(buffer, rows * width, Xp.dtype).reshape(rows, width)
    # splitting the last axis of a column slice is still a view: the copy lands in P itself
    P[:, : width - int(ones)].reshape(windows.shape)[...] = windows
    if ones:
        P[:, -1] = 1
    return P


def gather_narrow(Xp: np.ndarray, k: tuple[int, int], s: tuple[int, int], out: tuple[int, int], *,
                  ones: bool = False, buffer: np.ndarray | None = None, dilation: tuple[int, int] = (1, 1)) -> np.ndarray:
    """``P`` as the transposed view of a C-contiguous ``P^T``, filled one kernel offset at a time.

    Offset ``(i, j)`` meets ``Xp[:, i*dh::sh, j*dw::sw, :]`` (one input per window) and writes it, channels
    first, into rows ``(i * kw + j) * c ...`` of ``P^T``: contiguous writes of long runs, where
    writing every ``columns``-th value of ``P`` measured slower. ``buffer`` as in ``gather_wide``.
    """
    n, c = Xp.shape[0], Xp.shape[3]
    rows, width = n * out[0] * out[1], columns(k, c, ones)
    transposed = _destination(buffer, rows * width, Xp.dtype).reshape((width, n) + out)
    for i, j, index in spatial.offsets(k, s, out, dilation):
        first = (i * k[1] + j) * c
        transposed[first : first + c] = Xp[index].transpose(3, 0, 1, 2)
    if ones:
        transposed[-1] = 1
    return transposed.reshape(width, rows).T


def gather(Xp: np.ndarray, k: tuple[int, int], s: tuple[int, int], out: tuple[int, int], *,
           ones: bool = False, buffer: np.ndarray | None = None, dilation: tuple[int, int] = (1, 1)) -> np.ndarray:
    """``P`` for the padded batch ``Xp``, by ``gather_narrow`` or ``gather_wide`` as its channel count says."""
    gather_into = gather_narrow if is_narrow(Xp.shape[3]) else gather_wide
    return gather_into(Xp, k, s, out, ones=ones, buffer=buffer, dilation=dilation)


def blocks(X: np.ndarray, k: tuple[int, int], s: tuple[int, int], out: tuple[int, int], *,
           pads: tuple[int, int, int, int] = (0, 0, 0, 0), ones: bool = False,
           block: int = BLOCK_SAMPLES, dilation: tuple[int, int] = (1, 1)) -> Iterator[tuple[slice, np.ndarray]]:
    """Yield ``(samples, P_b)``: the samples of each block of ``block``, and their ``P`` (see ``gather``).

    Each block is padded with ``pads`` zeros first (``spatial.pad``), so a caller keeps no
    padded copy of the whole batch. Every ``P_b`` is written into the same buffer: use it
    before taking the next one. The rows of ``P_b`` are those of ``P[samples]``, so for
    ``Z`` of shape ``(n, out_h, out_w, filters)``, ``Z[samples].reshape(-1, filters)`` is its
    product's place (a view, ``Z`` being C-contiguous).
    """
    size = min(block, len(X)) * out[0] * out[1] * columns(k, X.shape[3], ones)
    buffer = np.empty(size, dtype=X.dtype)
    for start in range(0, len(X), block):
        samples = slice(start, min(start + block, len(X)))
        yield samples, gather(spatial.pad(X[samples], pads), k, s, out, ones=ones, buffer=buffer, dilation=dilation)
