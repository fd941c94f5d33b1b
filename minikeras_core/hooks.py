"""Training events as pluggy hooks, and the :class:`Callback` base class.

A callback is any object with methods marked ``@hookimpl`` whose names are among the hook
specifications below (it need implement only those it uses). The simplest way to write one is to
subclass :class:`Callback` and override the events you need: every override is a hook
implementation, no decorator needed. Callbacks passed to ``fit(callbacks=[...])`` join that fit
alone; those an installed package lists under the entry-point group ``minikeras.callbacks`` join
every ``fit`` and ``evaluate``, unless entry-point autoloading is off
(``MINIKERAS_DISABLE_PLUGIN_AUTOLOAD=1``). An entry point may name a class (instantiated with no
arguments for each run), an instance or a module.

Callbacks are called in the order ``fit`` lists them: the progress bar, then the callbacks passed
to ``fit`` in their order, then installed ones, then the :class:`~minikeras_core.History` that
``fit`` returns.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable
from typing import Any

import pluggy

from .registry import REGISTRY, autoload_enabled

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
        """After the last epoch of ``fit`` (or after it stopped early), with the last epoch's logs."""

    @hookspec
    def on_epoch_begin(self, model: Any, epoch: int, logs: dict) -> None:
        """Before epoch ``epoch`` (counted from 0, from ``initial_epoch``)."""

    @hookspec
    def on_epoch_end(self, model: Any, epoch: int, logs: dict) -> None:
        """After epoch ``epoch``, with its mean loss and metrics (and validation figures) in ``logs``."""

    @hookspec
    def on_batch_begin(self, model: Any, batch: int, logs: dict) -> None:
        """Before the training step on batch ``batch`` (counted from 0 within the epoch)."""

    @hookspec
    def on_batch_end(self, model: Any, batch: int, logs: dict) -> None:
        """After a training step on batch ``batch`` of the epoch, with running means in ``logs``."""

    @hookspec
    def on_evaluate_end(self, model: Any, logs: dict) -> None:
        """After ``evaluate`` has computed its loss and metrics (``logs`` holds them)."""

    @hookspec
    def on_gradients_ready(self, model: Any, grads: list) -> None:
        """After a training step's backward pass, before the optimizer's update: ``grads`` are the arrays the
        optimizer will apply (one flat vector when the weights are flat), which an implementation may change in
        place. A distribution strategy sums them over its processes here (see :mod:`minikeras_core.strategy`)."""


HOOK_NAMES = tuple(name for name in vars(TrainingHooks) if name.startswith("on_"))
_HOOK_ARGS = {name: tuple(inspect.signature(getattr(TrainingHooks, name)).parameters)[1:] for name in HOOK_NAMES}


def _adapt(name: str, method: Any) -> Any:
    """A hook implementation of event ``name`` that calls ``method`` with the arguments it names.

    pluggy passes an implementation only its parameters without defaults, so a Keras-style
    ``def on_epoch_end(self, epoch, logs=None)`` would never see ``logs``. The adapter has the
    specification's exact parameters, passes ``method`` those it declares, by keyword, and sets
    ``self.model`` first.
    """
    parameters = inspect.signature(method).parameters
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())
    wanted = tuple(a for a in _HOOK_ARGS[name] if takes_any or a in parameters)

    def invoke(self: Any, values: dict) -> Any:
        self.model = values["model"]
        return method(self, **{a: values[a] for a in wanted})

    args = _HOOK_ARGS[name]
    if args == ("model", "logs"):

        def adapter(self, model, logs):
            return invoke(self, {"model": model, "logs": logs})

    elif args == ("model", "epoch", "logs"):

        def adapter(self, model, epoch, logs):
            return invoke(self, {"model": model, "epoch": epoch, "logs": logs})

    elif args == ("model", "batch", "logs"):

        def adapter(self, model, batch, logs):
            return invoke(self, {"model": model, "batch": batch, "logs": logs})

    elif args == ("model", "grads"):

        def adapter(self, model, grads):
            return invoke(self, {"model": model, "grads": grads})

    else:  # pragma: no cover - a new hook needs its adapter here
        raise NotImplementedError(f"no adapter for hook {name}{args}")
    # not functools.wraps: pluggy would follow __wrapped__ back to the method's own signature
    adapter.__name__, adapter.__qualname__, adapter.__doc__ = method.__name__, method.__qualname__, method.__doc__
    return hookimpl(adapter)


class Callback:
    """Base class for callbacks: every training event as a no-op hook implementation.

    Override the events you need, with the parameters of :class:`TrainingHooks` you use, by
    name: ``on_epoch_end(self, model, epoch, logs)``, or Keras's ``on_epoch_end(self, epoch,
    logs=None)``. Overrides become hook implementations automatically. ``self.model`` is the
    model being trained, set before every event of a subclass's overrides and at
    ``on_train_begin``. Set ``model.stop_training = True`` to end ``fit`` after the current
    batch.

    >>> class Print(Callback):
    ...     def on_epoch_end(self, model, epoch, logs):
    ...         print(epoch, logs["loss"])
    """

    model: Any = None
    params: dict = {}

    def set_model(self, model: Any) -> None:
        """Told by ``fit`` and ``evaluate`` before anything else: the model being run (as Keras's ``Callback.set_model``)."""
        self.model = model

    def set_params(self, params: dict) -> None:
        """Told by ``fit`` before training: ``{"verbose": ..., "epochs": ..., "steps": ...}`` (as Keras's ``Callback.set_params``)."""
        self.params = dict(params)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # pluggy only sees methods carrying the hookimpl mark, and an override loses the base's
        # mark: wrap every override of an event in an adapter that carries it.
        for name in HOOK_NAMES:
            method = cls.__dict__.get(name)
            if callable(method) and not hasattr(method, f"{PROJECT}_impl"):
                setattr(cls, name, _adapt(name, method))

    @hookimpl
    def on_train_begin(self, model: Any, logs: dict) -> None:
        self.model = model

    @hookimpl
    def on_train_end(self, model: Any, logs: dict) -> None:
        pass

    @hookimpl
    def on_epoch_begin(self, model: Any, epoch: int, logs: dict) -> None:
        pass

    @hookimpl
    def on_epoch_end(self, model: Any, epoch: int, logs: dict) -> None:
        pass

    @hookimpl
    def on_batch_begin(self, model: Any, batch: int, logs: dict) -> None:
        pass

    @hookimpl
    def on_batch_end(self, model: Any, batch: int, logs: dict) -> None:
        pass

    @hookimpl
    def on_evaluate_end(self, model: Any, logs: dict) -> None:
        self.model = model

    @hookimpl
    def on_gradients_ready(self, model: Any, grads: list) -> None:
        pass


def installed_callbacks() -> list[Any]:
    """Fresh instances of the callbacks installed packages list under ``minikeras.callbacks``.

    Empty when entry-point autoloading is off. A class is instantiated with no arguments; an
    instance or a module is used as it is. The list of entry points is read once and cached with
    the registry's (``minikeras_core.refresh()`` reads it again, after installing a package).
    """
    if not autoload_enabled():
        return []
    callbacks = []
    for ep in REGISTRY.entry_points(CALLBACK_GROUP):
        try:
            obj = ep.load()
        except Exception as err:
            raise ImportError(f"callback plugin {ep.name!r} (entry point '{ep.name} = {ep.value}' in {CALLBACK_GROUP}) failed to import: {err}") from err
        callbacks.append(obj() if isinstance(obj, type) else obj)
    return callbacks


def does_work(caller: Any) -> bool:
    """Whether calling the hook ``caller`` runs anything but :class:`Callback`'s inherited no-ops.

    Meant for the per-batch events, whose base implementations do nothing: ``fit`` asks once per
    run and skips them when nobody listens (a pluggy call costs microseconds, a noticeable share
    of a small model's step). A hook wrapper or a module plugin counts as work.
    """
    base = getattr(Callback, caller.name)
    return any(getattr(impl.function, "__func__", impl.function) is not base for impl in caller.get_hookimpls())


class _Manager(pluggy.PluginManager):
    """pluggy's manager, told that special (dunder) methods are never hook implementations.

    ``register`` inspects every attribute of a plugin; skipping the thirty-odd that every object
    has halves the cost of setting up each ``fit``.
    """

    def parse_hookimpl_opts(self, plugin: Any, name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):
            return None
        return super().parse_hookimpl_opts(plugin, name)


def plugin_manager(callbacks: Iterable[Any] = (), *, installed: bool = True) -> pluggy.PluginManager:
    """A hook manager for one run calling ``callbacks`` in their order, then installed ones.

    Installed callbacks (entry points of ``minikeras.callbacks``) join when ``installed`` is true
    and autoloading is on.
    """
    manager = _Manager(PROJECT)
    manager.add_hookspecs(TrainingHooks)
    ordered = list(callbacks)
    if installed:
        ordered.extend(installed_callbacks())
    # pluggy calls the most recently registered implementation first: register in reverse.
    for callback in reversed(ordered):
        manager.register(callback)
    return manager
