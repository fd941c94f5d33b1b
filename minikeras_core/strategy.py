"""The Strategy protocol: training spread over processes ("ranks"), data-parallel, as Horovod does it.

Every rank holds the whole model and the same data (or can read it), takes its share of each
global batch, computes the gradient of its share, and the gradients are summed across ranks
once per step (one all-reduce of the flat gradient buffer) before every rank applies the same
update. Strategies are plugins of the kind ``"strategy"`` (entry-point group
``minikeras.strategies``); ``fit(..., strategy="mpi")`` or ``with minikeras_core.distribute("mpi"):``
selects one. The engine calls the collective operations below on every rank in the same order,
and calls the hook ``on_gradients_ready`` (see :mod:`minikeras_core.hooks`) through which the
strategy sums the gradients.

Implement ``rank``, ``size`` and the collectives ``all_reduce``, ``broadcast``, ``all_gather``,
``broadcast_object``, ``all_gather_object`` and ``abort``. The base class gives the rest: the
share of a batch, the gradient hook, the checks that every rank has the same data and model.
"""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from collections.abc import Iterator
from typing import Any

import numpy as np

from ._config import Plugin
from .hooks import hookimpl
from .registry import get, register_kind


class Strategy(Plugin, ABC):
    """How one ``fit``, ``evaluate`` or ``predict`` is spread over ``size`` processes; this one is ``rank``."""

    @property
    @abstractmethod
    def rank(self) -> int:
        """This process's number, 0 .. size - 1; rank 0 (the chief) prints and writes files."""

    @property
    @abstractmethod
    def size(self) -> int:
        """How many processes take part."""

    @property
    def is_chief(self) -> bool:
        return self.rank == 0

    # -- collectives: every rank calls them in the same order ---------------------------------
    @abstractmethod
    def all_reduce(self, array: np.ndarray) -> None:
        """Replace ``array`` in place by its sum over all ranks (same shape and dtype on each)."""

    @abstractmethod
    def broadcast(self, array: np.ndarray, root: int = 0) -> None:
        """Overwrite ``array`` in place with rank ``root``'s."""

    @abstractmethod
    def all_gather(self, array: np.ndarray) -> np.ndarray:
        """Every rank's ``array`` (same shape but for axis 0) concatenated along axis 0 in rank order, on every rank."""

    @abstractmethod
    def broadcast_object(self, value: Any, root: int = 0) -> Any:
        """Rank ``root``'s ``value`` (a small JSON-like object), on every rank."""

    @abstractmethod
    def all_gather_object(self, value: Any) -> list:
        """``[value of rank 0, value of rank 1, ...]`` on every rank."""

    @abstractmethod
    def abort(self, error: BaseException) -> None:
        """End every rank of the job at once, the error shown (a rank that raises must never leave others waiting)."""

    # -- given by the base class --------------------------------------------------------------
    def share(self, start: int, stop: int) -> tuple[int, int]:
        """This rank's rows of the global batch ``[start, stop)``: consecutive slices as equal as can be (may be empty)."""
        n = stop - start
        size, extra = divmod(n, self.size)
        first = start + self.rank * size + min(self.rank, extra)
        return first, first + size + (1 if self.rank < extra else 0)

    @hookimpl
    def on_gradients_ready(self, model: Any, grads: list) -> None:
        """Sum every gradient array over the ranks (with the flat buffer: one all-reduce)."""
        for grad in grads:
            self.all_reduce(grad)

    def agree(self, flags: np.ndarray) -> np.ndarray:
        """The sum over ranks of small per-rank figures (batch loss sums, a stop flag), as float64."""
        flags = np.asarray(flags, dtype=np.float64).copy()
        self.all_reduce(flags)
        return flags

    def check_same(self, what: str, value: Any) -> None:
        """Raise on every rank a ``ValueError`` naming the ranks whose ``value`` differs from rank 0's."""
        values = self.all_gather_object(value)
        odd = [rank for rank, v in enumerate(values) if v != values[0]]
        if odd:
            raise ValueError(f"{type(self).__name__}: {what} differs across ranks: rank 0 has {values[0]!r}, "
                             + ", ".join(f"rank {r} has {values[r]!r}" for r in odd) + "; every rank must run the same program on the same data")


register_kind("strategy", "minikeras.strategies", Strategy)

_CURRENT: list[Strategy] = []


@contextlib.contextmanager
def distribute(strategy: Any, **kwargs: Any) -> Iterator[Strategy]:
    """Run every ``fit``, ``evaluate``, ``predict`` and ``save`` inside the block with ``strategy`` (a name, class or instance)."""
    instance = get("strategy", strategy, **kwargs)
    _CURRENT.append(instance)
    try:
        yield instance
    finally:
        _CURRENT.pop()


def current(strategy: Any = None) -> Strategy | None:
    """The strategy a call uses: the one it names, else the innermost ``distribute`` block's, else none."""
    if strategy is not None:
        return get("strategy", strategy)
    return _CURRENT[-1] if _CURRENT else None


def writes_files(model: Any = None) -> bool:
    """Whether this process writes files (checkpoints, logs, saved models): always without a strategy, else rank 0 only.

    The strategy is the model's last ``fit``'s, or the innermost ``distribute`` block's.
    """
    strategy = getattr(model, "distribute_strategy", None) or current()
    return strategy is None or strategy.is_chief
