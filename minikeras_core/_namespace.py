"""Module-level attribute access that resolves plugin classes through the registry, as Keras's namespaces read.

``from minikeras_core.layers import Dense`` imports the plugin registered as ``dense`` (a name
matches an entry point's name or the class name in its target), and nothing else.
"""

from __future__ import annotations

from typing import Any

from .errors import UnknownPluginError
from .registry import REGISTRY


def plugin_namespace(kind: str):
    """Return ``(__getattr__, __dir__)`` for a module that exposes the plugins of ``kind`` by class name."""

    def __getattr__(name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        try:
            return REGISTRY.resolve(kind, name)
        except UnknownPluginError as err:  # hasattr() and ``from ... import`` expect an AttributeError
            raise AttributeError(str(err)) from None

    def __dir__() -> list[str]:
        return sorted({info.class_name for info in REGISTRY.infos(kind)})

    return __getattr__, __dir__
