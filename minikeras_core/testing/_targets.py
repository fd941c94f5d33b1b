"""Which plugins to check: by name, by class, every plugin of a distribution, or every registered one.

A plugin whose entry point does not import becomes a :class:`Target` with a ``note`` (the
error); the runner reports it as ``KIND_entry_point_loads`` failed instead of raising.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..errors import PluginConflictError, PluginError
from ..registry import REGISTRY, kind_of, kind_spec, kinds, normalize_name
from ._base import CHECKED_KINDS


@dataclass(frozen=True)
class Target:
    """A plugin to check: its kind, the name it is known by, and its class (``None`` when not loadable)."""

    kind: str
    name: str
    cls: type | None
    note: str = ""


def _kind_of(cls: type) -> str:
    kind = kind_of(cls) if isinstance(cls, type) else None
    if kind is None:
        raise TypeError(f"{cls!r} is not a plugin class of any kind {sorted(kinds())}")
    return kind


def _find(kind: str, name: str):
    try:
        return REGISTRY.find(kind, name)
    except PluginConflictError as err:  # two distributions claim the name: the user must choose
        raise LookupError(str(err)) from None


def resolve_target(spec: Any) -> Target:
    """A plugin given as ``"kind:name"``, a name unique across kinds, a class, or a ``(kind, class)`` pair."""
    if isinstance(spec, Target):
        return spec
    if isinstance(spec, tuple) and len(spec) == 2:
        kind, cls = spec
        kind = kind_spec(kind).kind
        if isinstance(cls, str):
            return _load_target(kind, _find(kind, cls))
        return Target(kind, REGISTRY.name_of(cls), cls)
    if isinstance(spec, type):
        return Target(_kind_of(spec), REGISTRY.name_of(spec), spec)
    if not isinstance(spec, str):
        raise TypeError(f"expected a plugin name, 'kind:name', a plugin class or a (kind, class) pair; got {spec!r}")
    if ":" in spec:
        kind, _, name = spec.partition(":")
        return resolve_target((kind, name))
    found = []
    for kind in kinds():
        try:
            found.append((kind, _find(kind, spec)))
        except ValueError:  # UnknownPluginError: not of this kind
            continue
    if not found:
        raise LookupError(f"no plugin named {spec!r} of any kind {sorted(kinds())}; list them with `minikeras plugins`")
    if len(found) > 1:
        options = ", ".join(f"{kind}:{info.name}" for kind, info in found)
        raise LookupError(f"{spec!r} names plugins of several kinds; say which with kind:name ({options})")
    return _load_target(*found[0])


def _load_target(kind: str, info) -> Target:
    """Load a plugin for checking; an entry point that fails to import becomes a target with a note."""
    if kind not in CHECKED_KINDS:
        return Target(kind, info.name, None)
    try:
        return Target(kind, info.name, REGISTRY.load(info))
    except PluginError as err:
        return Target(kind, info.name, None, note=str(err))


def load_check(kind: str) -> str:
    """The name of the result reported when a plugin's entry point cannot be loaded at all."""
    return f"{kind}_entry_point_loads"


def distribution_targets(distribution: str) -> list[Target]:
    """Every plugin an installed distribution provides through its entry points, of every kind."""
    wanted = normalize_name(distribution)
    targets = []
    for kind in kinds():
        for info in REGISTRY.infos(kind):
            if info.distribution is not None and normalize_name(info.distribution) == wanted:
                targets.append(_load_target(kind, info))
    if not targets:
        raise LookupError(
            f"no installed distribution {distribution!r} provides Mini-Keras plugins; is it installed "
            "(pip install -e PATH) and are its entry points in the minikeras.* groups?"
        )
    return targets


def registered_targets(kinds: Iterable[str] | None = None, *, installed_only: bool = False) -> list[Target]:
    """Every registered plugin of the kinds that have checks: installed ones and, unless ``installed_only``, those registered in code."""
    targets = []
    for kind in kinds or CHECKED_KINDS:
        kind = kind_spec(kind).kind
        if kind not in CHECKED_KINDS:
            continue
        for info in sorted(REGISTRY.infos(kind), key=lambda i: (i.name, i.origin)):
            if installed_only and info.distribution is None:
                continue
            targets.append(_load_target(kind, info))
    return targets
