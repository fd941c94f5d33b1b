"""Keras's progress display for ``fit``: a bar redrawn in place on a terminal, one line per epoch elsewhere."""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

from .hooks import Callback


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
