"""Running independent blocks of inference work on several CPU cores at once.

numpy's element-wise work (activations, pooling, gathering patches) runs on one core; only
the matrix products use BLAS's threads. Prediction is independent per sample, so blocks of
samples can go through the layers on several Python threads at once (numpy releases the GIL
in its loops and in BLAS), each with a single-threaded BLAS: then every stage, not only the
products, uses all the cores. Measured on the benchmark's CNN (2 cores) about 1.5x faster
than one thread with a 2-thread BLAS.

Two threads each calling a multi-threaded BLAS oversubscribe the cores and measured slower
than no threads at all, so the blocks only run in parallel when BLAS can be limited to one
thread for the duration; that needs the optional package ``threadpoolctl``. Without it
(or on one core) everything runs on the calling thread, as before.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

_controller: Any = None  # threadpoolctl's ThreadpoolController, created on first use (it scans the loaded libraries)
_MAX_WORKERS = 8

#: Layer output values (summed over the layers) a block must produce to be worth its own
#: thread: the benchmark's CNN makes about 36,000 per sample (threads measured 1.3-1.5x
#: faster), its MLP about 400 and its seed model about 60 (threads measured 1.3x and 3x slower).
MIN_VALUES_PER_PART = 1 << 20


def available_cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _blas_controller() -> Any:
    global _controller
    if _controller is None:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:
            _controller = False
        else:
            _controller = ThreadpoolController()
    return _controller


class _CallingThread:
    """An executor that runs each task at once on the calling thread (the fallback)."""

    def submit(self, work: Callable[..., Any], *args: Any) -> Future:
        future: Future = Future()
        try:
            future.set_result(work(*args))
        except BaseException as error:  # re-raised by result(), as a thread pool would
            future.set_exception(error)
        return future


@contextlib.contextmanager
def inference_executor(blocks: int) -> Iterator[Any]:
    """Yield an executor (``submit(work, *args)`` returning a ``Future``) for blocks of inference work.

    ``blocks`` is how many blocks may run at once: with fewer than 2, on one core, or with no
    way to limit BLAS to one thread, the executor runs each block at once on the calling
    thread. Otherwise it is a pool of up to ``available_cores()`` threads, and BLAS is limited
    to one thread until the ``with`` block ends (for the whole process: other threads calling
    BLAS meanwhile get one thread too). Each block must write only to its own part of any
    shared output, so that the result does not depend on the order the threads run in. On an
    error, blocks not yet started are cancelled.
    """
    workers = min(blocks, available_cores(), _MAX_WORKERS)
    controller = _blas_controller() if workers > 1 else False
    if not controller:
        yield _CallingThread()
        return
    with controller.limit(limits=1, user_api="blas"):
        pool = ThreadPoolExecutor(workers, thread_name_prefix="minikeras")
        try:
            yield pool
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        pool.shutdown(wait=True)


def wait_all(futures: list[Future]) -> None:
    """Wait for ``futures`` in order, re-raising the first error."""
    for future in futures:
        future.result()
