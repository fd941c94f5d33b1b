"""Training, evaluation and prediction spread over the ranks of a :class:`~minikeras_core.strategy.Strategy`.

The trainer calls these only when a strategy is in use; without one nothing here runs. Every
rank runs the same program on the same data: each takes its share of every global batch
(``Strategy.share``), back-propagates its share's mean loss times ``n_share / n_batch``, and the
gradients are summed over the ranks in the ``on_gradients_ready`` hook, so that every rank
applies the update of the whole batch. Losses and metrics are summed the same way, so the
figures in ``History`` and the progress bar are the global ones, identical on every rank.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import sys
import traceback
from collections.abc import Iterator
from typing import Any

import numpy as np

from ..strategy import Strategy


def set_up(model: Any, strategy: Strategy, samples: int) -> None:
    """Check that every rank has the same data and model, then give every rank rank 0's weights, optimizer state and generators."""
    strategy.check_same("the number of training samples", samples)
    # the seed is no part of the architecture: rank 0's weights and generators are broadcast below
    config = json.dumps({k: v for k, v in model.get_config().items() if k != "seed"}, sort_keys=True, default=str)
    strategy.check_same("the model (its architecture)", hashlib.sha256(config.encode()).hexdigest()[:16])
    for layer in model.flat_layers:
        for weight in layer.params.values():
            strategy.broadcast(weight)
    state = strategy.broadcast_object(model.optimizer.get_state())
    if state["slots"] or state["iterations"]:
        model.optimizer.set_state(state)
    model._rng.bit_generator.state = strategy.broadcast_object(model._rng.bit_generator.state)
    model._noise_base = strategy.broadcast_object(model._noise_base)


def local_rows(strategy: Strategy | None, start: int, stop: int) -> tuple[int, int]:
    """This rank's rows of the global batch ``[start, stop)`` (all of them without a strategy)."""
    return (start, stop) if strategy is None else strategy.share(start, stop)


def global_sums(strategy: Strategy | None, values: list[float]) -> np.ndarray:
    """``values`` (this rank's sums) summed over the ranks."""
    array = np.asarray(values, dtype=np.float64)
    return array if strategy is None else strategy.agree(array)


def batch_rows(strategy: Strategy | None, rows: int) -> tuple[int, int]:
    """The global batch's size and where this rank's ``rows`` start in it, when each rank read its own batch (a dataset)."""
    if strategy is None:
        return rows, 0
    sizes = strategy.all_gather(np.array([rows], dtype=np.int64))
    return int(sizes.sum()), int(sizes[: strategy.rank].sum())


def evaluate(model: Any, strategy: Strategy, X: np.ndarray, y: np.ndarray, batch_size: int | None, evaluate_arrays: Any) -> dict:
    """``evaluate`` over all ranks: each takes its share of the samples, and the sums are added up."""
    start, stop = strategy.share(0, len(X))
    keys = ["loss", *(m.name for m in model.metrics)]
    local = evaluate_arrays(model, X[start:stop], y[start:stop], batch_size) if stop > start else dict.fromkeys(keys, 0.0)
    sums = strategy.agree([local[key] * (stop - start) for key in keys])
    return {key: float(value) / len(X) for key, value in zip(keys, sums)}


def predict(strategy: Strategy, X: Any, predict_arrays: Any) -> np.ndarray:
    """``predict`` over all ranks: each predicts its share, and every rank gets the whole result."""
    start, stop = strategy.share(0, len(X))
    return strategy.all_gather(predict_arrays(X[start:stop]))


@contextlib.contextmanager
def failing_together(strategy: Strategy | None) -> Iterator[None]:
    """Inside a multi-rank run, an error on one rank ends every rank at once (``Strategy.abort``), never a hang."""
    if strategy is None or strategy.size == 1:
        yield
        return
    try:
        yield
    except BaseException as error:
        sys.stderr.write(f"rank {strategy.rank} of {strategy.size} failed:\n{''.join(traceback.format_exception(error))}")
        sys.stderr.flush()
        strategy.abort(error)
        raise
