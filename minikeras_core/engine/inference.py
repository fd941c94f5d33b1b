"""Evaluation and prediction over arrays, a chunk of samples at a time, with parts of each chunk on threads.

Only one chunk's activations exist at once, so memory stays bounded by the chunk size; each
chunk's forward pass is cut into parts that run at once (see :mod:`.parallel`).
"""

from __future__ import annotations

import sys
import time
from typing import Any

import numpy as np

from ..arguments import positive_int
from . import data, step
from .parallel import forward_in_parts, parts_for
from .threads import Workers, finish, split


def evaluate_arrays(model: Any, X: np.ndarray, y: np.ndarray, batch_size: int | None) -> dict[str, float]:
    """``{"loss": ..., metric name: ...}``: the mean over all samples of ``X`` (checked arrays) against ``y``."""
    totals = dict.fromkeys(["loss", *(m.name for m in model.metrics)], 0.0)
    chunk_size = min(len(X), positive_int(batch_size if batch_size is not None else 256, "batch_size"))
    with Workers(parts_for(model.flat_layers, chunk_size, training=False)) as workers:
        for start, stop in data.chunks(len(X), batch_size):
            y_pred = forward_in_parts(model.flat_layers, np.asarray(X[start:stop], dtype=model.dtype), workers)  # a memmap's chunk, cast
            totals["loss"] += model.loss(y_pred, y[start:stop]) * (stop - start)
            for metric in model.metrics:
                totals[metric.name] += metric(y_pred, y[start:stop]) * (stop - start)
    return {key: value / len(X) for key, value in totals.items()}


def predict_arrays(model: Any, X: np.ndarray, batch_size: int | None, verbose: int = 0) -> np.ndarray:
    """The model's outputs for ``X`` (sample shape checked, not yet cast), ``batch_size`` samples (256 by default) at a time.

    ``X`` may be larger than memory (an ``np.memmap``): each chunk is read, cast and checked
    for NaN in turn. This thread prepares the next chunk while the threads run the current
    one; at most two chunks are in flight. ``verbose`` 1 or 2 prints Keras's closing line
    (steps, time, time per step) to standard output.
    """
    layers = model.flat_layers
    outputs = np.empty((len(X),) + model.output_shape, dtype=model.dtype)
    chunk_size = min(len(X), positive_int(batch_size if batch_size is not None else 256, "batch_size"))
    began = time.perf_counter()

    def forward_part(chunk: np.ndarray, offset: int, start: int, stop: int) -> None:
        outputs[offset + start : offset + stop] = step.forward(layers, chunk[start:stop])

    steps = 0
    with Workers(parts_for(layers, chunk_size, training=False)) as workers, workers.blas_limited():
        previous: list = []
        for offset, stop in data.chunks(len(X), batch_size):
            chunk = np.asarray(X[offset:stop], dtype=model.dtype)
            if not data.all_finite(chunk):
                finish(previous)
                raise ValueError(f"predict(): X contains NaN or infinity (in samples {offset}..{stop - 1}); expected finite numbers")
            parts = split(len(chunk), workers.parts)
            current = workers.start(forward_part, [(chunk, offset, start, end) for start, end in parts])
            finish(previous)
            previous = current
            steps += 1
        finish(previous)
    if verbose:
        elapsed = time.perf_counter() - began
        sys.stdout.write(f"{steps}/{steps} - {elapsed:.0f}s {elapsed / max(steps, 1) * 1e3:.0f}ms/step\n")
        sys.stdout.flush()
    return outputs

