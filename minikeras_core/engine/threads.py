"""Running independent parts of a batch on several CPU cores at once.

numpy's element-wise work (activations, pooling, gathering patches) runs on one core; only
the matrix products use BLAS's threads. Samples are independent, so a batch can be cut into
parts that go through the layers at once on Python threads (numpy releases the GIL in its
loops and in BLAS), each with a single-threaded BLAS: then every stage, not only the
products, uses all the cores. Measured on the benchmark's CNN (2 cores): prediction about
1.5x and a training step about 1.2-1.45x faster than one thread with a 2-thread BLAS.

Two threads each calling a multi-threaded BLAS oversubscribe the cores and measured slower
than no threads at all, so parts only run in parallel when BLAS can be limited to one
thread while they run; that needs the optional package ``threadpoolctl``. Without it (or on
one core, or with BLAS limited to one thread by the user) everything runs on the calling
thread.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any

_controller: Any = None  # threadpoolctl's ThreadpoolController, created on first use (it scans the loaded libraries)
_MAX_WORKERS = 8

def blas_controller() -> Any:
    """threadpoolctl's controller of the loaded BLAS libraries, or ``False`` when threadpoolctl is missing."""
    global _controller
    if _controller is None:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:
            _controller = False
        else:
            _controller = ThreadpoolController()
    return _controller


def available_cores() -> int:
    """The threads parts may use: the cores this process may run on, capped by BLAS's thread count.

    Limiting BLAS (``OPENBLAS_NUM_THREADS``, ``threadpoolctl.threadpool_limits``) thus limits
    these threads too, so a comparison at a fixed thread count stays fair. While another call's
    parts run (BLAS held at one thread), it is 1: a second, overlapping call stays on its thread.
    """
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    controller = blas_controller()
    if controller:
        blas = [lib.num_threads for lib in controller.select(user_api="blas").lib_controllers]
        if blas:
            cores = min(cores, *blas)
    return max(1, cores)


def threads_possible() -> bool:
    """Whether parts of a piece of work can run on threads here: two cores or more, and BLAS can be limited."""
    return available_cores() > 1 and bool(blas_controller())


class Workers:
    """Runs the parts of one piece of work at once, one per thread, with BLAS limited to one thread meanwhile.

    ``Workers(parts)`` gets up to ``parts`` threads (no more than ``available_cores()``); with
    fewer than 2, or when BLAS cannot be limited, ``run`` calls each part in turn on the
    calling thread. Use it as a context manager so the threads end with the ``with`` block.
    """

    def __init__(self, parts: int) -> None:
        workers = min(parts, available_cores(), _MAX_WORKERS) if parts > 1 else 1
        self._controller = blas_controller() if workers > 1 else False
        self.parts = workers if self._controller else 1
        self._pool = ThreadPoolExecutor(self.parts, thread_name_prefix="minikeras") if self.parts > 1 else None

    def run(self, work: Callable[..., Any], arguments: Iterable[tuple]) -> list:
        """``[work(*args) for args in arguments]``, the calls running at once; re-raises the first error.

        Every call has ended when this returns or raises (none is left running on shared
        layers). Each call must write only to its own part of any shared output, so the result
        does not depend on the order the threads run in.
        """
        with self.blas_limited():
            return finish(self.start(work, arguments))

    def start(self, work: Callable[..., Any], arguments: Iterable[tuple]) -> list[Future]:
        """Start ``work(*args)`` for each of ``arguments`` and return their futures at once (see ``finish``).

        Lets the calling thread prepare the next piece of work meanwhile; hold ``blas_limited()``
        from before ``start`` until after ``finish``.
        """
        if self._pool is None:
            return [_done(work, args) for args in arguments]
        return [self._pool.submit(work, *args) for args in arguments]

    def blas_limited(self) -> contextlib.AbstractContextManager:
        """BLAS limited to one thread (for the whole process) while parts run on threads; a no-op otherwise."""
        return single_threaded_blas(self._controller) if self._pool is not None else contextlib.nullcontext()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def __enter__(self) -> Workers:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()


_limit_lock = threading.Lock()
_limit_users = 0
_limiter: Any = None


@contextlib.contextmanager
def single_threaded_blas(controller: Any) -> Iterator[None]:
    """BLAS limited to one thread while any caller is inside, counted across threads.

    The first caller in saves BLAS's thread counts and sets one; the last one out restores
    them. Two ``predict`` calls on two user threads then cannot restore in the wrong order and
    leave BLAS at one thread for good.
    """
    global _limit_users, _limiter
    with _limit_lock:
        if _limit_users == 0:
            _limiter = controller.limit(limits=1, user_api="blas")
        _limit_users += 1
    try:
        yield
    finally:
        with _limit_lock:
            _limit_users -= 1
            if _limit_users == 0:
                _limiter.restore_original_limits()
                _limiter = None


def finish(futures: list[Future]) -> list:
    """Wait for every one of ``futures``, then return their results in order or raise the first error."""
    wait(futures)
    return [future.result() for future in futures]


def _done(work: Callable[..., Any], args: tuple) -> Future:
    """A finished future holding ``work(*args)`` or its error, run on the calling thread."""
    future: Future = Future()
    try:
        future.set_result(work(*args))
    except BaseException as error:  # re-raised by result(), as a thread pool would
        future.set_exception(error)
    return future


def split(n: int, parts: int) -> list[tuple[int, int]]:
    """``(start, stop)`` of ``parts`` consecutive slices of ``range(n)`` as equal as can be (none empty)."""
    parts = max(1, min(parts, n))
    size, extra = divmod(n, parts)
    bounds, start = [], 0
    for part in range(parts):
        stop = start + size + (1 if part < extra else 0)
        bounds.append((start, stop))
        start = stop
    return bounds
