"""Find plugins by name through entry points, lazily.

Each kind of plugin has an entry-point group (``minikeras.layers`` for layers, and so on).
Listing names reads installed metadata only and imports nothing; resolving a name imports that
one plugin. Names match case-insensitively, ignoring ``_`` and ``-``, against the entry point's
name or the class name in its target (``"dense"``, ``"Dense"``, ``"binary_crossentropy"`` and
``"BinaryCrossEntropy"`` all resolve). Set ``MINIKERAS_DISABLE_PLUGIN_AUTOLOAD=1`` to ignore
installed entry points and use only what ``register`` adds.

This module is the registry's API; the ``Registry`` class itself (discovery, resolution,
conflicts) is in ``minikeras_core._registry``.
"""

from __future__ import annotations

from typing import Any

from ._registry import AUTOLOAD_ENV, REGISTRY, PluginInfo, Registry, autoload_enabled  # noqa: F401 (re-exported)
from .errors import PluginConflictError, UnknownPluginError
from .kinds import kind_of, kind_spec, kinds, normalize_name, register_kind  # noqa: F401 (kind_of, normalize_name, register_kind: re-exported)


def get(kind: str, identifier: Any, **kwargs: Any) -> Any:
    """Return a plugin instance of ``kind`` from a name, a class, an instance or a config dict.

    ``kind`` is ``"activation"``, ``"layer"``, ``"loss"`` or ``"optimizer"`` (plurals accepted).
    ``kwargs`` go to the constructor; a config dict is ``{"class_name": name, "config": {...}}``.
    """
    spec = kind_spec(kind)
    if isinstance(identifier, spec.base):
        if kwargs:
            raise TypeError(f"{spec.kind}: got an instance {identifier!r} and arguments {sorted(kwargs)}; give a name or class with arguments")
        return identifier
    if isinstance(identifier, str):
        return REGISTRY.resolve(spec.kind, identifier)(**kwargs)
    if isinstance(identifier, type):
        if not issubclass(identifier, spec.base):
            raise TypeError(f"{spec.kind}: got class {identifier.__name__}, expected a subclass of minikeras_core.{spec.base.__name__}")
        return identifier(**kwargs)
    if isinstance(identifier, dict) and "class_name" in identifier:
        cls = REGISTRY.resolve(spec.kind, identifier["class_name"])
        return cls.from_config({**identifier.get("config", {}), **kwargs})
    raise TypeError(
        f"{spec.kind}: got {identifier!r}, expected a registered name, a {spec.base.__name__} subclass, "
        "an instance or a {'class_name': ..., 'config': {...}} dict"
    )


def serialize(obj: Any) -> Any:
    """A plugin instance as ``{"class_name": name, "config": get_config()}``; a plugin class as its name."""
    if isinstance(obj, type):
        return REGISTRY.name_of(obj)
    return {"class_name": REGISTRY.name_of(obj), "config": obj.get_config()}


def registered_name(obj: Any) -> str:
    """The name a plugin class or instance is registered under (its class name when it is not registered)."""
    return REGISTRY.name_of(obj)


def has_plugin(kind: str, name: str) -> bool:
    """Whether ``name`` resolves to one plugin of ``kind`` (imports nothing; a name claimed twice counts as known)."""
    try:
        REGISTRY.find(kind, name)
    except UnknownPluginError:
        return False
    except PluginConflictError:
        return True
    return True


def is_registered_as(obj: Any, name: str) -> bool:
    """Whether ``obj`` (a plugin class or instance) is the plugin registered as ``name`` (compared as the registry compares names).

    Cached per class until ``refresh()``: the training step asks it at every batch (losses that
    fuse with an activation use it).
    """
    return REGISTRY.is_registered_as(obj, name)


def list_plugins(kind: str | None = None) -> dict[str, list[str]] | list[str]:
    """The registered names of ``kind``, or of every kind as a dict when ``kind`` is None; imports nothing."""
    if kind is not None:
        return REGISTRY.names(kind)
    return {k: REGISTRY.names(k) for k in kinds()}


def register(kind: str, name: str | None = None, obj: type | None = None, *, override: bool = False):
    """Register a plugin class in code; usable as a decorator: ``@register("activation", "swish")``."""

    def decorate(cls: type) -> type:
        return REGISTRY.register(kind, name or cls.__name__, cls, override=override)

    return decorate(obj) if obj is not None else decorate


def prefer(kind: str, name: str, distribution: str) -> None:
    """Choose the distribution whose plugin ``name`` means, when several installed ones claim it."""
    REGISTRY.prefer(kind, name, distribution)


def refresh() -> None:
    """Read installed entry points again (after installing a plugin in a running process)."""
    REGISTRY.refresh()
