"""The registry behind ``minikeras_core.registry`` (whose docstring says how names are found and matched).

``Registry`` reads each kind's entry points once (their metadata only), adds what is registered
in code, resolves a name to one plugin, importing only that one, and refuses a name that two
distributions claim unless one is preferred (``PluginConflictError``).
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass
from typing import Any

import importlib_metadata

from .errors import PluginConflictError, PluginLoadError, PluginTypeError, UnknownPluginError
from .kinds import KindSpec, kind_of, kind_spec, kinds, normalize_name

AUTOLOAD_ENV = "MINIKERAS_DISABLE_PLUGIN_AUTOLOAD"


@dataclass(frozen=True)
class PluginInfo:
    """What the registry knows of one plugin before importing it."""

    kind: str
    name: str
    target: str
    distribution: str | None = None
    version: str | None = None
    entry_point: Any = None
    obj: Any = None  # set for programmatic registrations

    @property
    def class_name(self) -> str:
        return self.target.rpartition(":")[2].rpartition(".")[2]

    @property
    def origin(self) -> str:
        if self.distribution is None:
            return "registered in code"
        return f"{self.distribution} {self.version}"


def autoload_enabled() -> bool:
    """Whether installed entry points are read (``MINIKERAS_DISABLE_PLUGIN_AUTOLOAD`` unset or empty)."""
    return os.environ.get(AUTOLOAD_ENV, "").strip().lower() in ("", "0", "false", "no")


_normalize = normalize_name


class Registry:
    """Entry points per kind, read once and cached, plus plugins registered in code."""

    def __init__(self) -> None:
        self._entry_cache: dict[str, list[PluginInfo]] = {}
        self._manual: dict[str, dict[str, PluginInfo]] = {}
        self._loaded: dict[tuple, type] = {}
        self._preferred: dict[tuple[str, str], str] = {}
        self._group_cache: dict[str, tuple] = {}
        self._identity_cache: dict[tuple, bool] = {}

    def refresh(self) -> None:
        """Forget the cached entry points and loaded plugins; read the installed metadata again."""
        self._entry_cache.clear()
        self._loaded.clear()
        self._group_cache.clear()
        self._identity_cache.clear()

    def entry_points(self, group: str) -> tuple:
        """The installed entry points of ``group``, read once and cached until ``refresh()``.

        Scanning the installed metadata takes milliseconds, too long to repeat at every ``fit``.
        """
        if group not in self._group_cache:
            self._group_cache[group] = tuple(importlib_metadata.entry_points(group=group))
        return self._group_cache[group]

    # -- listing (no imports) -----------------------------------------------------------------
    def _entry_infos(self, kind: str) -> list[PluginInfo]:
        if not autoload_enabled():
            return []
        if kind not in self._entry_cache:
            seen: set[tuple] = set()
            infos = []
            for ep in self.entry_points(kind_spec(kind).group):
                dist = getattr(ep, "dist", None)
                dist_name = dist.metadata["Name"] if dist is not None else None
                key = (ep.name, ep.value, _normalize(dist_name or ""))
                if key in seen:  # the same entry point twice, e.g. a leftover metadata folder
                    continue
                seen.add(key)
                version = dist.version if dist is not None else None
                infos.append(PluginInfo(kind, ep.name, ep.value, dist_name, version, ep))
            self._entry_cache[kind] = infos
        return self._entry_cache[kind]

    def infos(self, kind: str) -> list[PluginInfo]:
        """Every plugin of ``kind``, installed or registered in code, without importing any."""
        kind = kind_spec(kind).kind
        return self._entry_infos(kind) + list(self._manual.get(kind, {}).values())

    def names(self, kind: str) -> list[str]:
        """The sorted names of every plugin of ``kind``; imports nothing."""
        return sorted({info.name for info in self.infos(kind)})

    # -- registering in code ------------------------------------------------------------------
    def register(self, kind: str, name: str, obj: type, *, override: bool = False) -> type:
        """Register ``obj`` as a plugin of ``kind`` named ``name`` (for notebooks and tests)."""
        spec = kind_spec(kind)
        _check_type(spec, name, obj, "registered in code")
        key = _normalize(name)
        clash = [i for i in self.infos(spec.kind) if _normalize(i.name) == key and i.obj is not obj]
        if clash and not override:
            raise PluginConflictError(
                f"{spec.kind} {name!r} already exists ({clash[0].origin}: {clash[0].target}); "
                "pass override=True to replace it in this process"
            )
        target = f"{obj.__module__}:{obj.__qualname__}"
        self._manual.setdefault(spec.kind, {})[key] = PluginInfo(spec.kind, name, target, obj=obj)
        return obj

    def unregister(self, kind: str, name: str) -> None:
        """Remove a plugin registered in code."""
        self._manual.get(kind_spec(kind).kind, {}).pop(_normalize(name), None)

    def prefer(self, kind: str, name: str, distribution: str) -> None:
        """Choose which distribution's plugin ``name`` means when several claim it."""
        self._preferred[(kind_spec(kind).kind, _normalize(name))] = _normalize(distribution)

    # -- resolving (imports one plugin) -------------------------------------------------------
    def find(self, kind: str, name: str) -> PluginInfo:
        """Return the one plugin ``name`` denotes, or raise an error that says why there is none."""
        spec = kind_spec(kind)
        key = _normalize(name)
        infos = self.infos(spec.kind)
        manual = self._manual.get(spec.kind, {})
        if key in manual:
            return manual[key]
        by_name = [i for i in infos if _normalize(i.name) == key]
        by_class = [i for i in infos if _normalize(i.class_name) == key]
        # An entry-point name wins over a class name of the same distribution; across
        # distributions the two readings are a conflict, never a silent choice.
        named_dists = {_normalize(i.distribution or "") for i in by_name}
        matches = by_name + [i for i in by_class if _normalize(i.distribution or "") not in named_dists]
        distinct = {(i.target, _normalize(i.distribution or "")): i for i in matches}
        if len(distinct) == 1:
            return next(iter(distinct.values()))
        if not distinct:
            raise UnknownPluginError(_unknown_message(spec.kind, name, infos))
        preferred = self._preferred.get((spec.kind, key))
        chosen = [i for i in distinct.values() if _normalize(i.distribution or "") == preferred]
        if len(chosen) == 1:
            return chosen[0]
        claims = "; ".join(
            f"{i.origin} ({'entry point' if _normalize(i.name) == key else 'class name of'} {i.name} = {i.target})"
            for i in distinct.values()
        )
        raise PluginConflictError(
            f"{spec.kind} {name!r} is claimed by more than one installed distribution: {claims}. "
            f"Uninstall one, or choose with minikeras_core.registry.prefer({spec.kind!r}, {name!r}, '<distribution>')"
        )

    def load(self, info: PluginInfo) -> type:
        """Import the plugin ``info`` describes and check it is of its kind."""
        if info.obj is not None:
            return info.obj
        cache_key = (info.kind, info.target, info.distribution)
        if cache_key not in self._loaded:
            try:
                obj = info.entry_point.load()
            except Exception as err:
                raise PluginLoadError(
                    f"{info.kind} plugin {info.name!r} failed to import: entry point "
                    f"'{info.name} = {info.target}' of distribution {info.origin} raised "
                    f"{type(err).__name__}: {err}"
                ) from err
            _check_type(kind_spec(info.kind), info.name, obj, info.origin)
            self._loaded[cache_key] = obj
        return self._loaded[cache_key]

    def resolve(self, kind: str, name: str) -> type:
        """Return the class registered as ``name`` for ``kind``, importing only that plugin."""
        return self.load(self.find(kind, name))

    def is_registered_as(self, obj: Any, name: str) -> bool:
        """Whether ``obj`` (a plugin class or instance) is the plugin registered as ``name``; cached per class until ``refresh()``."""
        cls = obj if isinstance(obj, type) else type(obj)
        key = (cls, _normalize(name))
        if key not in self._identity_cache:
            kind = kind_of(cls)
            self._identity_cache[key] = kind is not None and any(
                _normalize(i.name) == key[1] and _describes(i, cls) for i in self.infos(kind)
            )
        return self._identity_cache[key]

    def name_of(self, obj: Any) -> str:
        """The registered name of a plugin class or instance (its class name if it is not registered)."""
        cls = obj if isinstance(obj, type) else type(obj)
        kind = kind_of(cls)
        if kind is None:
            raise TypeError(f"{cls.__name__} is not a plugin of any kind {sorted(kinds())}")
        names = sorted(i.name for i in self.infos(kind) if _describes(i, cls))
        # the name spelling the class's own (random_normal for RandomNormal), else the first alphabetically
        own = [n for n in names if _normalize(n) == _normalize(cls.__name__)]
        return (own or names or [cls.__name__])[0]


def _describes(info: PluginInfo, cls: type) -> bool:
    """Whether ``info`` is the registration of ``cls`` (in code, or an entry point naming its module and class)."""
    return info.obj is cls or (info.obj is None and info.target == f"{cls.__module__}:{cls.__qualname__}")


def _check_type(spec: KindSpec, name: str, obj: Any, origin: str) -> None:
    if not (isinstance(obj, type) and issubclass(obj, spec.base)):
        raise PluginTypeError(
            f"{spec.kind} plugin {name!r} ({origin}) is {obj!r}, expected a subclass of "
            f"minikeras_core.{spec.base.__name__}"
        )


def _unknown_message(kind: str, name: str, infos: list[PluginInfo]) -> str:
    if not infos:
        hint = (
            "no plugins of this kind are installed"
            + (f" (entry-point autoloading is off: {AUTOLOAD_ENV} is set)" if not autoload_enabled() else "")
            + "; install minikeras-plugins or register one"
        )
        return f"unknown {kind} {name!r}: {hint}"
    candidates = {_normalize(i.name): i.name for i in infos}
    candidates.update({_normalize(i.class_name): i.name for i in infos})
    close = difflib.get_close_matches(_normalize(name), list(candidates), n=3, cutoff=0.5)
    suggestion = ", ".join(dict.fromkeys(repr(candidates[c]) for c in close))
    return (
        f"unknown {kind} {name!r}"
        + (f"; did you mean {suggestion}" if suggestion else "")
        + f". See all names with `minikeras plugins` or minikeras_core.list_plugins({kind!r})"
    )


REGISTRY = Registry()
