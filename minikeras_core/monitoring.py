"""The callbacks that watch one monitored quantity across epochs: EarlyStopping and ModelCheckpoint."""

from __future__ import annotations

import math
import os
import warnings
from typing import Any

import numpy as np

from .hooks import Callback
from .strategy import writes_files


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
