"""The one-process strategy: rank 0 of 1, every collective the identity."""

from typing import Any

import numpy as np

from minikeras_core.strategy import Strategy


class OneProcess(Strategy):
    """Training in this process alone, through the same path as a multi-process strategy.

    A sum, broadcast or gather over one process is the value itself, so ``fit(...,
    strategy="one_process")`` trains exactly as ``fit`` without a strategy; a program written
    for ``strategy="mpi"`` runs with it where MPI is not installed. It is the reference the
    strategy conformance checks are written against.
    """

    @property
    def rank(self) -> int:
        return 0

    @property
    def size(self) -> int:
        return 1

    def all_reduce(self, array: np.ndarray) -> None:
        pass  # the sum over one process

    def broadcast(self, array: np.ndarray, root: int = 0) -> None:
        pass  # rank 0's array is this one

    def all_gather(self, array: np.ndarray) -> np.ndarray:
        return np.asarray(array)

    def broadcast_object(self, value: Any, root: int = 0) -> Any:
        return value

    def all_gather_object(self, value: Any) -> list:
        return [value]

    def abort(self, error: BaseException) -> None:
        pass  # no other process waits: the error propagates as it is
