"""The kinds of plugin (layer, activation, loss, ...): each one's entry-point group and base class.

Each protocol module declares its own kind when it is imported (``layer.py`` declares ``"layer"``),
so neither this module nor the registry depends on any of them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class KindSpec:
    """A kind of plugin: its entry-point group and the base class its plugins must subclass."""

    kind: str
    group: str
    base: type


_KINDS: dict[str, KindSpec] = {}


def register_kind(kind: str, group: str, base: type) -> None:
    """Declare a kind of plugin found in the entry-point group ``group``.

    Each protocol module declares its own kind when it is imported (``layer.py`` declares
    ``"layer"``), so the registry itself depends on none of them.
    """
    _KINDS[kind] = KindSpec(kind, group, base)


def kinds() -> dict[str, KindSpec]:
    """Every declared kind of plugin by name, in the order they were declared."""
    return dict(_KINDS)


def kind_of(cls: type) -> str | None:
    """The kind whose base class ``cls`` (a class or an instance's class) subclasses, or ``None``."""
    cls = cls if isinstance(cls, type) else type(cls)
    return next((spec.kind for spec in _KINDS.values() if issubclass(cls, spec.base)), None)


def kind_spec(kind: str) -> KindSpec:
    """Return the spec of ``kind``; plurals (``"layers"``) are accepted."""
    key = str(kind).lower()
    for suffix in ("es", "s"):  # "losses", "layers"
        if key not in _KINDS and key.endswith(suffix) and key[: -len(suffix)] in _KINDS:
            key = key[: -len(suffix)]
    if key not in _KINDS:
        raise ValueError(f"kind: got {kind!r}, expected one of {sorted(_KINDS)}")
    return _KINDS[key]


def normalize_name(name: str) -> str:
    """A name as the registry compares it: lower case, without ``_`` and ``-`` (``"Max_Pool-2D"`` -> ``"maxpool2d"``)."""
    return str(name).lower().replace("_", "").replace("-", "")
