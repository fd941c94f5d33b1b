"""Training events as pluggy hooks.

A callback is any object with methods marked ``@hookimpl`` whose names are among the hook
specifications below (it need implement only those it uses). Callbacks passed to
``fit(callbacks=[...])`` join that fit alone; those an installed package lists under the
entry-point group ``minikeras.callbacks`` join every fit, unless entry-point autoloading is off.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pluggy

from .registry import autoload_enabled

PROJECT = "minikeras"
CALLBACK_GROUP = "minikeras.callbacks"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


class TrainingHooks:
    """The events of ``fit`` and ``evaluate``; ``logs`` is a dict of floats (``loss``, metrics, ``val_`` keys)."""

    @hookspec
    def on_train_begin(self, model: Any, logs: dict) -> None:
        """Before the first epoch of ``fit``."""

    @hookspec
    def on_train_end(self, model: Any, logs: dict) -> None:
        """After the last epoch of ``fit`` (or after it stopped early)."""

    @hookspec
    def on_epoch_begin(self, model: Any, epoch: int, logs: dict) -> None:
        """Before epoch ``epoch`` (counted from 0)."""

    @hookspec
    def on_epoch_end(self, model: Any, epoch: int, logs: dict) -> None:
        """After epoch ``epoch``, with its mean loss and metrics (and validation figures) in ``logs``."""

    @hookspec
    def on_batch_end(self, model: Any, batch: int, logs: dict) -> None:
        """After a training step on batch ``batch`` of the epoch, with running means in ``logs``."""

    @hookspec
    def on_evaluate_end(self, model: Any, logs: dict) -> None:
        """After ``evaluate`` has computed its loss and metrics."""


def plugin_manager(callbacks: Iterable[Any] = ()) -> pluggy.PluginManager:
    """A hook manager for one run: installed callbacks (when autoloading is on) then ``callbacks``."""
    manager = pluggy.PluginManager(PROJECT)
    manager.add_hookspecs(TrainingHooks)
    if autoload_enabled():
        manager.load_setuptools_entrypoints(CALLBACK_GROUP)
    for callback in callbacks:
        manager.register(callback)
    return manager
