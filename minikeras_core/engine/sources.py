"""Where ``fit``'s batches come from: arrays (memmaps too), a Keras-style ``PyDataset``, or a generator.

- Arrays: batch ``i`` of an epoch is rows ``order[i * batch : (i + 1) * batch]``; only those rows
  are read and cast (an ``np.memmap`` larger than memory is never copied whole). Under a
  strategy each rank reads only its share of the rows.
- A ``PyDataset`` (any object with ``__len__`` and ``__getitem__(i)`` returning ``(X, y)``, and
  optionally ``on_epoch_end()``), as Keras's: ``len`` batches per epoch, in its own order.
  Under a strategy the ranks take whole batches in turn, so each reads only its own: a step
  trains on ``size`` of the dataset's batches.
- A generator (any iterator of ``(X, y)``) with ``steps_per_epoch``: under a strategy each rank's
  generator should yield that rank's own data.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from . import data


def is_dataset(x: Any) -> bool:
    """Whether ``x`` is a PyDataset-like object (indexable batches) rather than an array."""
    return not isinstance(x, (np.ndarray, list, tuple)) and hasattr(x, "__len__") and hasattr(x, "__getitem__")


def is_generator(x: Any) -> bool:
    return isinstance(x, Iterator)


class ArraySource:
    """Batches of rows of checked arrays ``X`` and ``y`` (an ``np.memmap`` is read a batch at a time)."""

    def __init__(self, model: Any, X: np.ndarray, y: np.ndarray, batch_size: int, shuffle: bool, rng: np.random.Generator) -> None:
        self.model, self.X, self.y, self.batch_size, self.shuffle, self.rng = model, X, y, batch_size, shuffle, rng
        self.samples = len(X)
        self.steps = -(-len(X) // batch_size)
        self.order: np.ndarray | None = None

    def epoch_begin(self) -> None:
        self.order = self.rng.permutation(self.samples) if self.shuffle else None

    def epoch_end(self) -> None:
        pass

    def batch(self, index: int, strategy: Any = None) -> tuple[np.ndarray, np.ndarray, int, int]:
        """``(X, y, global_batch_size, first_row)`` of batch ``index``: this rank's rows of it, and where they start in it."""
        start, stop = index * self.batch_size, min((index + 1) * self.batch_size, self.samples)
        first, last = (start, stop) if strategy is None else strategy.share(start, stop)
        if self.order is None:  # in order: views of the data, no copy
            X, y = self.X[first:last], self.y[first:last]
        else:  # take copies the rows faster than fancy indexing does (the method: np.take's wrapper costs 2 us a call)
            rows = self.order[first:last]
            X, y = self.X.take(rows, axis=0), self.y.take(rows, axis=0)
        return _cast(self.model, X), y, stop - start, first - start


class DatasetSource:
    """Batches from a PyDataset-like object (``__len__``, ``__getitem__``, optionally ``on_epoch_end``)."""

    def __init__(self, model: Any, dataset: Any, strategy: Any = None) -> None:
        self.model, self.dataset = model, dataset
        self.size, self.rank = (1, 0) if strategy is None else (strategy.size, strategy.rank)
        self.steps = len(dataset) // self.size
        if self.steps == 0:
            raise ValueError(f"fit(): the dataset has {len(dataset)} batches; expected at least one per process ({self.size})")
        self.samples = None  # unknown until read

    def epoch_begin(self) -> None:
        pass

    def epoch_end(self) -> None:
        if callable(getattr(self.dataset, "on_epoch_end", None)):
            self.dataset.on_epoch_end()

    def batch(self, index: int, strategy: Any = None) -> tuple[np.ndarray, np.ndarray, None, None]:
        X, y = checked_batch(self.model, self.dataset[index * self.size + self.rank], f"the dataset's batch {index * self.size + self.rank}")
        return X, y, None, None  # the global batch: the ranks' batches together (gathered by the trainer)


class GeneratorSource(DatasetSource):
    """Batches from an iterator of ``(X, y)``, ``steps_per_epoch`` of them per epoch."""

    def __init__(self, model: Any, generator: Iterator, steps_per_epoch: int | None) -> None:
        if steps_per_epoch is None:
            raise ValueError("fit(): a generator needs steps_per_epoch (how many batches make an epoch)")
        self.model, self.generator = model, generator
        self.steps = data.positive_int(steps_per_epoch, "steps_per_epoch")
        self.samples = None

    def epoch_end(self) -> None:
        pass

    def batch(self, index: int, strategy: Any = None) -> tuple[np.ndarray, np.ndarray, None, None]:
        try:
            pair = next(self.generator)
        except StopIteration:
            raise ValueError(f"fit(): the generator ended after {index} batches of an epoch; steps_per_epoch is {self.steps}") from None
        X, y = checked_batch(self.model, pair, f"generator batch {index}")
        return X, y, None, None


def checked_batch(model: Any, pair: Any, what: str) -> tuple[np.ndarray, np.ndarray]:
    """A streamed ``(X, y)`` pair, checked as ``fit`` checks arrays."""
    if not isinstance(pair, (tuple, list)) or len(pair) < 2:
        raise ValueError(f"fit(): {what} is {type(pair).__name__}; expected a pair (X, y)")
    model._require_layers(pair[0])
    return data.check_data(model, pair[0], pair[1], "fit")


def first_inputs(x: Any) -> Any:
    """A batch of inputs to build a model from, without consuming a generator (``None`` for one)."""
    if is_dataset(x):
        return x[0][0]
    return None if is_generator(x) else x


def _cast(model: Any, X: np.ndarray) -> np.ndarray:
    """A batch in the model's dtype; a batch of a memmap is also checked for NaN here (the whole file never was)."""
    if X.dtype == model.dtype and not isinstance(X, np.memmap):
        return X
    X = np.asarray(X, dtype=model.dtype)
    if not data.all_finite(X):
        raise ValueError("fit(): X contains NaN or infinity; expected finite numbers")
    return X
