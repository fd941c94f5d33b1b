"""The built-in callbacks, as in Keras.

``fit`` always uses a :class:`ProgbarLogger` (for ``verbose`` > 0) and a :class:`History` (which it
returns). The others are opt-in: pass instances to ``fit(callbacks=[...])``. Every one is a
:class:`~minikeras_core.hooks.Callback`, that is a pluggy plugin of the training hooks.
"""

from __future__ import annotations

import csv
import math
import os
import sys
import time
import warnings
from collections.abc import Callable
from typing import Any, TextIO

import numpy as np

from .hooks import Callback
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


def _format_logs(logs: dict) -> str:
    return " - ".join(f"{key}: {value:.4f}" if abs(value) >= 1e-3 or value == 0 else f"{key}: {value:.4e}" for key, value in logs.items())


def _format_time(seconds: float) -> str:
    if seconds >= 3600:
        return f"{int(seconds // 3600)}:{int(seconds % 3600 // 60):02d}:{int(seconds % 60):02d}"
    if seconds >= 60:
        return f"{int(seconds // 60)}:{int(seconds % 60):02d}"
    return f"{seconds:.0f}s"


def _format_per_step(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:.0f}s/step"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.0f}ms/step"
    return f"{seconds * 1e6:.0f}us/step"


class ProgbarLogger(Callback):
    """Keras's progress display.

    ``verbose=1``: on a terminal, ``Epoch 3/10`` then a bar redrawn in place after every batch
    (``12/57 [=====>........] - 1s 3ms/step - loss: 0.2914``), finished with the validation
    figures at the end of the epoch. When the stream is not a terminal (a log file, a pipe, a
    notebook capture) it writes the same finished line once per epoch, with no ``\\r`` or other
    control characters. ``verbose=2``: one line per epoch. ``verbose=0``: nothing.
    ``stream`` defaults to ``sys.stdout`` at the time of the call.
    """

    width = 30

    def __init__(self, verbose: int = 1, stream: TextIO | None = None) -> None:
        self.verbose = int(verbose)
        self._stream = stream
        self.epochs = 0
        self.steps = 0

    @property
    def stream(self) -> TextIO:
        return self._stream if self._stream is not None else sys.stdout

    def _interactive(self) -> bool:
        isatty = getattr(self.stream, "isatty", None)
        try:
            return bool(isatty and isatty())
        except (ValueError, OSError):  # a closed stream
            return False

    def set_params(self, params: dict) -> None:
        """Told by ``fit``: the last epoch number (``epochs``) and the batches per epoch (``steps``)."""
        super().set_params(params)
        self.epochs, self.steps = int(params.get("epochs", 0)), int(params.get("steps", 0))

    def on_epoch_begin(self, model: Any, epoch: int, logs: dict) -> None:
        self._start = time.perf_counter()
        self._seen_steps = 0
        self._last_width = 0
        self._tty = self._interactive()  # asked once per epoch, not once per batch
        if self.verbose == 1:
            self.stream.write(f"Epoch {epoch + 1}/{self.epochs}\n")
            self.stream.flush()

    def on_batch_end(self, model: Any, batch: int, logs: dict) -> None:
        self._seen_steps = batch + 1
        if self.verbose == 1 and self._tty:
            self.stream.write("\r" + self._padded(self._line(batch + 1, logs)))
            self.stream.flush()

    def on_epoch_end(self, model: Any, epoch: int, logs: dict) -> None:
        if self.verbose == 1:
            line = self._line(self._seen_steps, logs)
            self.stream.write(("\r" + self._padded(line) if self._tty else line) + "\n")
        elif self.verbose == 2:
            elapsed = time.perf_counter() - self._start
            per_step = elapsed / max(self._seen_steps, 1)
            parts = [f"Epoch {epoch + 1}/{self.epochs}", f"{self._seen_steps}/{self.steps}", _format_time(elapsed), _format_per_step(per_step)]
            if logs:
                parts.append(_format_logs(logs))
            self.stream.write(" - ".join(parts) + "\n")
        if self.verbose:
            self.stream.flush()

    def _padded(self, line: str) -> str:
        # blank out what is left of a longer previous line when redrawing in place
        padded = line.ljust(getattr(self, "_last_width", 0))
        self._last_width = len(line)
        return padded

    def _line(self, step: int, logs: dict) -> str:
        total = max(self.steps, 1)
        if step >= total:
            bar = "=" * self.width
        else:
            done = int(self.width * step / total)
            bar = "=" * max(done - 1, 0) + ">" + "." * (self.width - max(done, 1))
        elapsed = time.perf_counter() - self._start
        counter = f"{step}/{self.steps}".rjust(2 * len(str(self.steps)) + 1)
        line = f"{counter} [{bar}] - {_format_time(elapsed)} {_format_per_step(elapsed / max(step, 1))}"
        return line + (" - " + _format_logs(logs) if logs else "")


def _infer_mode(model: Any, monitor: str, mode: str, owner: str, strict: bool) -> str:
    """``"min"`` or ``"max"`` for ``monitor``, Keras's way when ``mode == "auto"``.

    A loss is minimised; a compiled metric of that name is maximised when its ``direction`` is
    ``"up"``. Otherwise ``strict`` raises (as Keras's EarlyStopping does) and the lenient rule of
    Keras's ModelCheckpoint applies: maximise names containing ``acc``, minimise the rest.
    """
    if mode in ("min", "max"):
        return mode
    if mode != "auto":
        raise ValueError(f"{owner}: mode must be 'auto', 'min' or 'max', got {mode!r}")
    base = monitor[4:] if monitor.startswith("val_") else monitor
    if base == "loss":
        return "min"
    for metric in getattr(model, "metrics", []) or []:
        if getattr(metric, "name", None) == base:
            return "max" if getattr(metric, "direction", "down") == "up" else "min"
    if strict:
        raise ValueError(
            f"{owner}: cannot tell whether monitor={monitor!r} should be minimised or maximised "
            "(it is neither a loss nor a compiled metric); pass mode='min' or mode='max'"
        )
    return "max" if "acc" in base else "min"


class EarlyStopping(Callback):
    """Stop training when ``monitor`` has stopped improving, as Keras's ``EarlyStopping``.

    An epoch improves when ``current < best - min_delta`` (mode ``"min"``) or
    ``current > best + min_delta`` (``"max"``); ``mode="auto"`` minimises losses and follows a
    metric's ``direction``. Training stops once ``patience`` epochs pass without improvement.
    With ``restore_best_weights`` the weights of the best epoch are put back when training ends.
    ``baseline``: the best must also beat this value to reset the wait. ``start_from_epoch``:
    epochs before it are ignored.
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        min_delta: float = 0.0,
        patience: int = 0,
        verbose: int = 0,
        mode: str = "auto",
        baseline: float | None = None,
        restore_best_weights: bool = False,
        start_from_epoch: int = 0,
    ) -> None:
        if patience < 0:
            raise ValueError(f"EarlyStopping: patience must be >= 0, got {patience}")
        self.monitor = monitor
        self.min_delta = abs(float(min_delta))
        self.patience = int(patience)
        self.verbose = verbose
        self.mode = mode
        self.baseline = baseline
        self.restore_best_weights = bool(restore_best_weights)
        self.start_from_epoch = int(start_from_epoch)

    def on_train_begin(self, model: Any, logs: dict) -> None:
        self.model = model
        self._mode = _infer_mode(model, self.monitor, self.mode, "EarlyStopping", strict=True)
        self.wait = 0
        self.stopped_epoch = 0
        self.best = math.inf if self._mode == "min" else -math.inf
        self.best_weights = None
        self.best_epoch = 0

    def _is_improvement(self, value: float, reference: float) -> bool:
        if self._mode == "min":
            return value + self.min_delta < reference
        return value - self.min_delta > reference

    def on_epoch_end(self, model: Any, epoch: int, logs: dict) -> None:
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(f"EarlyStopping: monitor {self.monitor!r} is not in the logs (available: {sorted(logs)})", stacklevel=2)
            return
        if epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights = model.get_weights()
        self.wait += 1
        if self._is_improvement(current, self.best):
            self.best = float(current)
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = model.get_weights()
            if self.baseline is None or self._is_improvement(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            model.stop_training = True

    def on_train_end(self, model: Any, logs: dict) -> None:
        if self.stopped_epoch > 0 and self.verbose:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose:
                print(f"Restoring model weights from the end of the best epoch: {self.best_epoch + 1}.")
            model.set_weights(self.best_weights)


class ModelCheckpoint(Callback):
    """Save the model (``model.save``) or its weights after each epoch, as Keras's ``ModelCheckpoint``.

    ``filepath`` may hold ``{epoch}`` (from 1) and log keys, e.g. ``"ckpt/{epoch:02d}-{val_loss:.2f}.mk"``;
    missing folders of the path are created, as Keras does. With ``save_best_only`` a file is
    written only when ``monitor`` improves on the best so far (and on ``initial_value_threshold``
    when given; mode inferred as in Keras unless given). ``save_freq`` is ``"epoch"``. Writes
    are atomic: an interrupted save leaves the previous file whole.
    """

    def __init__(
        self,
        filepath: str | os.PathLike,
        monitor: str = "val_loss",
        verbose: int = 0,
        save_best_only: bool = False,
        save_weights_only: bool = False,
        mode: str = "auto",
        save_freq: str = "epoch",
        initial_value_threshold: float | None = None,
    ) -> None:
        if save_freq != "epoch":
            raise ValueError(f"ModelCheckpoint: save_freq must be 'epoch' (saving every N batches is not supported), got {save_freq!r}")
        self.filepath = os.fspath(filepath)
        self.monitor = monitor
        self.verbose = verbose
        self.save_best_only = bool(save_best_only)
        self.save_weights_only = bool(save_weights_only)
        self.mode = mode
        self.save_freq = save_freq
        self.initial_value_threshold = initial_value_threshold
        self.best: float | None = None if initial_value_threshold is None else float(initial_value_threshold)

    def on_train_begin(self, model: Any, logs: dict) -> None:
        self.model = model
        self._mode = _infer_mode(model, self.monitor, self.mode, "ModelCheckpoint", strict=False)

    def on_epoch_end(self, model: Any, epoch: int, logs: dict) -> None:
        path = self.filepath.format(epoch=epoch + 1, **logs)
        if self.save_best_only:
            current = logs.get(self.monitor)
            if current is None:
                warnings.warn(f"ModelCheckpoint: monitor {self.monitor!r} is not in the logs (available: {sorted(logs)}); nothing saved", stacklevel=2)
                return
            better = self.best is None or (current < self.best if self._mode == "min" else current > self.best)
            if not better or not np.isfinite(current):
                if self.verbose:
                    print(f"Epoch {epoch + 1}: {self.monitor} did not improve from {self.best}")
                return
            if self.verbose:
                print(f"Epoch {epoch + 1}: {self.monitor} improved from {self.best} to {current:.5f}, saving model to {path}")
            self.best = float(current)
        elif self.verbose:
            print(f"Epoch {epoch + 1}: saving model to {path}")
        if not writes_files(model):  # under a strategy, rank 0 alone writes
            return
        folder = os.path.dirname(path)
        if folder:
            os.makedirs(folder, exist_ok=True)
        if self.save_weights_only:
            model.save_weights(path)
        else:
            model.save(path)


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
