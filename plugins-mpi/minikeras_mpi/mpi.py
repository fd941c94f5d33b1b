"""The ``mpi`` strategy: the collectives of :class:`~minikeras_core.strategy.Strategy` over mpi4py's ``COMM_WORLD``.

Arrays travel through MPI's buffer interface, never pickled: ``Allreduce`` in place for the
flat gradient buffer (one call per step), ``Bcast`` for rank 0's weights, ``Allgatherv`` for
predictions whose shares differ in length. Small objects (optimizer and generator state,
figures compared across ranks) go through mpi4py's pickling ``bcast`` and ``allgather``.
``abort`` ends the whole job with ``MPI_Abort``, so a rank that raises never leaves the others
waiting in a collective.

Run a program with ``mpiexec -n 4 python train.py``; started without ``mpiexec`` it is one
rank of one (MPI's singleton start), and trains exactly as with no strategy.
"""

from __future__ import annotations

import math
import os
import sys
import time
from typing import Any

import numpy as np
from mpi4py import MPI

from minikeras_core.strategy import Strategy

_thread_limit: Any = None  # threadpoolctl's limit, kept alive for the life of the process
ABORT_GRACE_SECONDS = 0.2


class MPIStrategy(Strategy):
    """Data parallelism over the processes ``mpiexec`` started (``MPI.COMM_WORLD``), one model per rank.

    ``threads`` is the number of BLAS threads each rank uses. ``"auto"`` (the default) gives
    each rank an equal share of its machine's cores when several ranks share one machine
    (cores // ranks on the machine, at least 1), unless ``OMP_NUM_THREADS`` or
    ``OPENBLAS_NUM_THREADS`` says otherwise: ranks each running a full-width BLAS would fight
    over the same cores. An int sets the count; ``None`` leaves BLAS alone.
    """

    def __init__(self, threads: int | str | None = "auto") -> None:
        if not (threads is None or threads == "auto" or (isinstance(threads, int) and not isinstance(threads, bool) and threads >= 1)):
            raise ValueError(f"MPIStrategy: threads must be 'auto', None or a positive int; got {threads!r}")
        self.threads = threads
        self.comm = MPI.COMM_WORLD
        _limit_threads(threads, self.comm.Get_size())

    @property
    def rank(self) -> int:
        return self.comm.Get_rank()

    @property
    def size(self) -> int:
        return self.comm.Get_size()

    def all_reduce(self, array: np.ndarray) -> None:
        """``MPI_Allreduce`` with ``MPI_IN_PLACE`` and ``MPI_SUM``: the gradient buffer is summed where it lies."""
        buffer = _contiguous(array)
        self.comm.Allreduce(MPI.IN_PLACE, buffer, op=MPI.SUM)
        if buffer is not array:  # a strided view was summed in a copy: write it back
            array[...] = buffer

    def broadcast(self, array: np.ndarray, root: int = 0) -> None:
        buffer = _contiguous(array)
        self.comm.Bcast(buffer, root=root)
        if buffer is not array:
            array[...] = buffer

    def all_gather(self, array: np.ndarray) -> np.ndarray:
        """``MPI_Allgatherv``: the ranks' rows (any number each, the rest of the shape alike) in rank order."""
        array = np.ascontiguousarray(array)
        layouts = self.comm.allgather((array.shape, array.dtype.str))
        if any(tuple(shape[1:]) != tuple(layouts[0][0][1:]) or dtype != layouts[0][1] for shape, dtype in layouts):
            raise ValueError("MPIStrategy.all_gather: every rank's array must have the same shape after axis 0 and the same "
                             "dtype; got " + ", ".join(f"rank {r}: {tuple(s)} {d}" for r, (s, d) in enumerate(layouts)))
        row = math.prod(array.shape[1:])
        counts = [shape[0] * row for shape, _ in layouts]
        out = np.empty((sum(shape[0] for shape, _ in layouts), *array.shape[1:]), dtype=array.dtype)
        self.comm.Allgatherv(array, [out, counts])
        return out

    def broadcast_object(self, value: Any, root: int = 0) -> Any:
        return self.comm.bcast(value, root=root)

    def all_gather_object(self, value: Any) -> list:
        return self.comm.allgather(value)

    def abort(self, error: BaseException) -> None:
        """Say which rank failed and why, then ``MPI_Abort``: ``mpiexec`` ends every rank and exits non-zero."""
        sys.stderr.write(f"MPIStrategy: rank {self.rank} of {self.size} raised {type(error).__name__}: {error}; aborting the MPI job\n")
        sys.stderr.flush()
        sys.stdout.flush()
        time.sleep(ABORT_GRACE_SECONDS)  # mpiexec forwards what was written before the abort ends every rank
        self.comm.Abort(1)


def _contiguous(array: np.ndarray) -> np.ndarray:
    """``array`` itself when MPI can read and write it where it lies, else a C-ordered copy."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"MPIStrategy: expected a numpy array; got {type(array).__name__}")
    return array if array.flags.c_contiguous and array.flags.writeable else np.ascontiguousarray(array)


def ranks_on_this_machine() -> int | None:
    """How many ranks of the job run on this machine, as the launcher tells (MPICH/Hydra or Open MPI), or ``None``."""
    for key in ("MPI_LOCALNRANKS", "OMPI_COMM_WORLD_LOCAL_SIZE", "MV2_COMM_WORLD_LOCAL_SIZE"):
        if os.environ.get(key, "").isdigit():
            return int(os.environ[key])
    return None


def _limit_threads(threads: int | str | None, size: int) -> None:
    """Hold BLAS to ``threads`` threads (or this rank's share of the cores for ``"auto"``), once per process."""
    global _thread_limit
    if threads is None or _thread_limit is not None:
        return
    if threads == "auto":
        local = ranks_on_this_machine()
        if size == 1 or not local or local == 1 or any(os.environ.get(k) for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")):
            return
        try:
            cores = len(os.sched_getaffinity(0))
        except AttributeError:  # not Linux
            cores = os.cpu_count() or 1
        threads = max(1, cores // local)
    from threadpoolctl import threadpool_limits

    _thread_limit = threadpool_limits(limits=int(threads), user_api="blas")
