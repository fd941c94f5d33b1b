"""What a recurrent cell's loop over time steps needs, forward and backward through time.

Arrays are time-major, ``(timesteps, n, ...)``; ``M`` is a mask of steps ``(timesteps, n, 1)`` (``True``:
the step is read) or ``None``. A masked step keeps every state, as Keras: forward it copies the
previous one (zeros before the first), backward it passes the gradient it receives on unchanged.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import numpy as np

from .engine import threads


def over_steps(A: np.ndarray) -> np.ndarray:
    """Time-major ``A`` ``(t, n, k)`` as ``(t n, k)``: the rows a weight's gradient sums over."""
    return A.reshape(-1, A.shape[-1])


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


def steps_back(steps: int, M: np.ndarray | None, dH: np.ndarray | None, *grads: np.ndarray) -> Iterator[int]:
    """The steps of backward through time, last to first, around the cell's own work.

    ``grads`` are the gradients of the states one step hands to the one before it (``dh`` first,
    then the LSTM's ``dc``); the loop's body turns each from step ``t``'s into step ``t - 1``'s, in
    place. Before the body, ``dh`` gains ``dH[t]``, the gradient reaching step ``t``'s output
    (none when ``dH`` is ``None``), and where step ``t`` is masked each gradient is set aside (the
    body sees zeros there); after the body, what was set aside is added back: a masked step kept
    its states, so their gradients pass on unchanged.
    """
    dh = grads[0]
    for t in range(steps - 1, -1, -1):
        if dH is not None:
            dh += dH[t]
        skips = [split_masked(d, M, t) for d in grads]
        yield t
        for d, skip in zip(grads, skips):
            if skip is not None:
                d += skip


def sigmoid_of_negated(z: np.ndarray) -> np.ndarray:
    """``1 / (1 + exp(z))``, the sigmoid of ``-z``, in place: three passes where ``s(z)`` takes four (a cell negates its
    kernels so as to get its gates' sigmoids this way). ``exp`` of a large ``z`` is ``inf`` (call it under
    ``np.errstate(over="ignore")``), whose reciprocal is the sigmoid's 0."""
    np.exp(z, out=z)
    z += 1
    return np.reciprocal(z, out=z)


def one_blas_thread() -> contextlib.AbstractContextManager:
    """BLAS held to one thread around a time loop while the machine is busy (load average within half a job of the
    cores this process may use), else left alone.

    A step's products are small (batch x units times units x gates). On two idle cores OpenBLAS ran them faster with
    its two threads (an LSTM 64 training step 62-65 ms against 67-70 ms held to one), but with the other core busy
    its threads waited on each other: the same step took 0.3 to 8 s against 0.14 to 0.2 s held to one.
    """
    controller = threads.blas_controller()
    try:
        busy = os.getloadavg()[0] > len(os.sched_getaffinity(0)) - 0.5
    except (AttributeError, OSError):  # no load average or affinity here: leave BLAS alone
        busy = False
    return threads.single_threaded_blas(controller) if busy and controller else contextlib.nullcontext()
