"""The built-in callbacks, as in Keras.

``fit`` always uses a :class:`ProgbarLogger` (for ``verbose`` > 0) and a :class:`History` (which it
returns). The others are opt-in: pass instances to ``fit(callbacks=[...])``. Every one is a
:class:`~minikeras_core.hooks.Callback`, that is a pluggy plugin of the training hooks.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Callable
from typing import Any

import numpy as np

from .hooks import Callback
from .monitoring import EarlyStopping, ModelCheckpoint
from .progbar import ProgbarLogger
from .strategy import writes_files

__all__ = [
    "CSVLogger",
    "Callback",
    "EarlyStopping",
    "History",
    "LearningRateScheduler",
    "ModelCheckpoint",
    "ProgbarLogger",
    "TerminateOnNaN",
]


class History(Callback):
    """The losses and metrics per epoch of one ``fit``: ``history.history["loss"]`` is a list per key.

    ``history.epoch`` lists the epoch numbers (from ``initial_epoch``); validation figures are under
    ``val_`` keys. ``plot(path)`` draws the curves (needs matplotlib).
    """

    def __init__(self) -> None:
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []

    def on_epoch_end(self, model: Any, epoch: int, logs: dict) -> None:
        self.epoch.append(epoch)
        for key, value in logs.items():
            self.history.setdefault(key, []).append(float(value))

    def plot(self, path: str | os.PathLike | None = None, *, keys: list[str] | None = None):
        """Draw one panel per quantity (training and ``val_`` curves together); save to ``path`` if given.

        Returns the matplotlib ``Figure``. Raises ``ImportError`` with the install command when
        matplotlib is missing (``pip install 'minikeras-core[plot]'``).
        """
        from .plotting import plot_history

        return plot_history(self.history, path, keys=keys, epochs=self.epoch)


class CSVLogger(Callback):
    """Write one row per epoch to a CSV file: ``epoch`` then every log key, sorted, as Keras does.

    ``append=True`` continues an existing file (its header is not repeated). Each row is
    flushed at once, so the file is readable while training runs.
    """

    def __init__(self, filename: str | os.PathLike, separator: str = ",", append: bool = False) -> None:
        self.filename = os.fspath(filename)
        self.separator = separator
        self.append = bool(append)
        self._file = None
        self._writer = None
        self._keys: list[str] | None = None

    def on_train_begin(self, model: Any, logs: dict) -> None:
        self.model = model
        self._file = None
        if not writes_files(model):  # under a strategy, rank 0 alone writes
            return
        continuing = self.append and os.path.exists(self.filename) and os.path.getsize(self.filename) > 0
        self._file = open(self.filename, "a" if self.append else "w", newline="", encoding="utf-8")
        self._keys = None
        self._header_written = continuing

    def on_epoch_end(self, model: Any, epoch: int, logs: dict) -> None:
        if self._file is None:
            return
        if self._keys is None:
            self._keys = sorted(logs)
            self._writer = csv.DictWriter(self._file, fieldnames=["epoch", *self._keys], delimiter=self.separator)
            if not self._header_written:
                self._writer.writeheader()
        row = {"epoch": epoch, **{key: logs.get(key, "NA") for key in self._keys}}
        self._writer.writerow(row)
        self._file.flush()

    def on_train_end(self, model: Any, logs: dict) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


class TerminateOnNaN(Callback):
    """End training gracefully when the loss becomes NaN or infinite.

    Without it ``fit`` raises a ``FloatingPointError`` naming the epoch and batch; with it ``fit``
    prints that message, stops, and returns the ``History`` so far (as Keras's ``TerminateOnNaN``).
    """

    def __init__(self) -> None:
        self.terminated_at: tuple[int, int] | None = None

    def on_epoch_begin(self, model: Any, epoch: int, logs: dict) -> None:
        self._epoch = epoch

    def on_batch_end(self, model: Any, batch: int, logs: dict) -> None:
        loss = logs.get("loss")
        if loss is not None and not np.isfinite(loss):
            self.terminated_at = (self._epoch, batch)
            print(f"Epoch {self._epoch + 1}, batch {batch + 1}: invalid loss {loss}, terminating training")
            model.stop_training = True


class LearningRateScheduler(Callback):
    """Set the optimizer's learning rate at the start of each epoch to ``schedule(epoch, lr)``.

    ``epoch`` counts from 0 and ``lr`` is the rate in force; the rate used is logged as
    ``learning_rate`` in each epoch's logs, as Keras does.
    """

    def __init__(self, schedule: Callable[[int, float], float], verbose: int = 0) -> None:
        if not callable(schedule):
            raise TypeError(f"LearningRateScheduler: schedule must be callable(epoch, lr), got {schedule!r}")
        self.schedule = schedule
        self.verbose = verbose

    def on_epoch_begin(self, model: Any, epoch: int, logs: dict) -> None:
        rate = self.schedule(epoch, float(model.optimizer.learning_rate))
        try:
            rate = float(rate)
        except (TypeError, ValueError):
            raise ValueError(f"LearningRateScheduler: schedule({epoch}, lr) returned {rate!r}; expected a number") from None
        if not np.isfinite(rate) or rate <= 0:
            raise ValueError(f"LearningRateScheduler: schedule({epoch}, lr) returned {rate}; expected a positive finite number")
        model.optimizer.learning_rate = rate
        if self.verbose:
            print(f"Epoch {epoch + 1}: LearningRateScheduler setting learning rate to {rate}.")

    def on_epoch_end(self, model: Any, epoch: int, logs: dict) -> None:
        logs["learning_rate"] = float(model.optimizer.learning_rate)
