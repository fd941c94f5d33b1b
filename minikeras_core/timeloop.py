"""Helpers of the time loops of recurrent layers: blocks of steps whose batch products run beside the loop on a
helper thread, BLAS held to one thread around a loop, and sums of products over the steps.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np

from .engine import threads


class Blocks:
    """Steps ``0 .. steps - 1`` in about ten blocks, for the batch products of a time loop: the input projections
    before their steps are read, the weight and input gradients once their steps' gradients are final.

    Those products (BLAS, which lets go of the interpreter's lock) run on one helper thread while the loop goes on
    when ``overlap`` (a free core, BLAS held to one thread meanwhile), else on the calling thread: block by block in
    the same order either way, so the numbers are the same. Measured on two cores: the loop of an LSTM 64 over 100
    steps took as long with the backward's products (41 ms alone) beside it as without them.

    Forward: ``ahead()`` then ``need(t)`` before reading step ``t``. Backward (last step first): ``done(t)`` once
    step ``t`` is final, then ``close()``, which returns when every block's work is done.
    """

    def __init__(self, work: Callable[[int, int], Any], steps: int, overlap: bool, count: int = 10) -> None:
        size = max(2, -(-steps // count))
        self.work, self.bounds = work, [(lo, min(lo + size, steps)) for lo in range(0, steps, size)]
        self.pool = _helper() if overlap and len(self.bounds) > 1 else None
        self.futures: dict[int, Future] = {}

    def ahead(self) -> None:
        first, *rest = self.bounds or [(0, 0)]
        self.work(*first)
        for lo, hi in rest:
            if self.pool is None:
                self.work(lo, hi)
            else:
                self.futures[lo] = self.pool.submit(self.work, lo, hi)

    def need(self, t: int) -> None:
        future = self.futures.pop(t, None) if self.futures else None
        if future is not None:
            future.result()

    def done(self, t: int) -> None:
        if self.pool is not None and self.bounds and t == self.bounds[-1][0]:
            lo, hi = self.bounds.pop()
            self.futures[lo] = self.pool.submit(self.work, lo, hi)

    def close(self) -> None:
        for lo, hi in reversed(self.bounds):  # without a helper: every block now, last first, as the helper would
            self.work(lo, hi)
        self.bounds = []
        for future in [self.futures.pop(lo) for lo in sorted(self.futures, reverse=True)]:
            future.result()


_HELPER: tuple[int, ThreadPoolExecutor] | None = None  # (the process it belongs to, the pool)

#: Multiply-adds of a layer's input projection below which its blocks stay on the calling thread: handing a block
#: to the helper costs some tens of microseconds, more than a small layer's whole product.
MIN_OVERLAP_WORK = 1 << 22


def _helper() -> ThreadPoolExecutor:
    """The one helper thread, made on first use; a forked child (whose copy has no thread) makes its own."""
    global _HELPER
    if _HELPER is None or _HELPER[0] != os.getpid():
        _HELPER = (os.getpid(), ThreadPoolExecutor(1, thread_name_prefix="minikeras-steps"))
    return _HELPER[1]


def free_core() -> bool:
    """Whether a second core is free for a layer's helper thread: two cores or more, BLAS can be held to one thread,
    and no parts of a batch are running on threads already (the engine then holds BLAS at one thread)."""
    return threads.available_cores() > 1 and bool(threads.blas_controller())


def sum_over_steps(A: np.ndarray, B: np.ndarray, rows: int = 128) -> np.ndarray:
    """``sum_t A_t^T B_t`` for time-major ``A`` ``(t, n, a)`` and ``B`` ``(t, n, b)``: a weight's gradient.

    As one product it would contract over all ``t n`` rows at once; OpenBLAS (0.3.31, one thread) ran that shape
    (64 x 6400 times 6400 x 256) at a third of the speed of the same work in products of about 128 rows, added up
    (measured 18 ms against 6 ms; as fast with two threads), so it goes in steps of about ``rows`` rows.
    """
    steps, n = A.shape[:2]
    chunk = max(1, rows // max(n, 1))
    total = np.empty((A.shape[2], B.shape[2]), dtype=np.result_type(A, B))
    part = np.empty_like(total)
    for start in range(0, steps, chunk):
        a, b = A[start : start + chunk], B[start : start + chunk]
        np.matmul(a.reshape(-1, a.shape[2]).T, b.reshape(-1, b.shape[2]), out=total if start == 0 else part)
        if start:
            total += part
    if steps == 0:
        total[...] = 0
    return total


def matmul_k(A: np.ndarray, B: np.ndarray, out: np.ndarray, k: int = 128) -> np.ndarray:
    """``out = A @ B`` with the contraction cut in pieces of at most ``k`` whose products are added up.

    OpenBLAS (0.3.31, Haswell kernels, as measured here) slows down sharply past a contraction of about 128: a step's
    ``(64 x 256) (256 x 64)`` took 205 us as one product and 75 us as two of 128, ``(640 x 256) (256 x 64)`` 2.1 ms
    against 0.62 ms, while the same work with a contraction of 64 runs at the full rate.
    """
    K = A.shape[-1]
    if K <= k:
        return np.matmul(A, B, out=out)
    np.matmul(A[..., :k], B[:k], out=out)
    part = np.empty_like(out)
    for start in range(k, K, k):
        out += np.matmul(A[..., start : start + k], B[start : start + k], out=part)
    return out


def one_blas_thread() -> contextlib.AbstractContextManager:
    """BLAS held to one thread (where it can be) around a time loop: a step's products are small (batch x units times
    units x gates), and more threads only cost their wake-ups, which measured several times slower on two busy cores."""
    controller = threads.blas_controller()
    return threads._single_threaded_blas(controller) if controller else contextlib.nullcontext()
