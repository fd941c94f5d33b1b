"""The callbacks of one ``fit`` or ``evaluate``: one hook manager, told the model and the run's parameters once.

Order, as ``fit`` has always called them: the progress bar, the callbacks passed to the call in
their order, installed ones (entry points of ``minikeras.callbacks``), then the ``History``.
Per-batch events nobody listens to are skipped (a pluggy call costs microseconds, a noticeable
share of a small model's step).
"""

from __future__ import annotations

from typing import Any

from ..hooks import does_work, installed_callbacks, plugin_manager


class CallbackList:
    """Calls the training events of ``callbacks`` through one pluggy hook manager.

    Every callback with ``set_model`` / ``set_params`` (every :class:`~minikeras_core.Callback`)
    is told the model and ``params`` (``verbose``, ``epochs``, ``steps``) first, as Keras does.
    ``installed`` adds the callbacks installed packages provide, after ``callbacks`` and before
    ``last`` (the History of a fit).
    """

    def __init__(self, callbacks: list, *, model: Any, params: dict | None = None, installed: bool = True, last: list | None = None) -> None:
        self.callbacks = [*callbacks, *(installed_callbacks() if installed else []), *(last or [])]
        for callback in self.callbacks:
            if callable(getattr(callback, "set_model", None)):
                callback.set_model(model)
            if params is not None and callable(getattr(callback, "set_params", None)):
                callback.set_params(params)
        self.model = model
        self.hook = plugin_manager(self.callbacks, installed=False).hook
        self.listens_to_batches = does_work(self.hook.on_batch_begin) or does_work(self.hook.on_batch_end)
        self.listens_to_gradients = does_work(self.hook.on_gradients_ready)

    def train_begin(self) -> None:
        self.hook.on_train_begin(model=self.model, logs={})

    def train_end(self, logs: dict) -> None:
        self.hook.on_train_end(model=self.model, logs=dict(logs))

    def epoch_begin(self, epoch: int) -> None:
        self.hook.on_epoch_begin(model=self.model, epoch=epoch, logs={})

    def epoch_end(self, epoch: int, logs: dict) -> None:
        self.hook.on_epoch_end(model=self.model, epoch=epoch, logs=logs)

    def batch_begin(self, batch: int) -> None:
        if self.listens_to_batches:
            self.hook.on_batch_begin(model=self.model, batch=batch, logs={})

    def batch_end(self, batch: int, logs: Any) -> None:
        """``logs`` may be a callable giving the logs, so they are only computed when someone listens."""
        if self.listens_to_batches:
            self.hook.on_batch_end(model=self.model, batch=batch, logs=logs() if callable(logs) else logs)

    def gradients_ready(self, grads: list) -> None:
        if self.listens_to_gradients:
            self.hook.on_gradients_ready(model=self.model, grads=grads)

    def evaluate_end(self, logs: dict) -> None:
        self.hook.on_evaluate_end(model=self.model, logs=dict(logs))
