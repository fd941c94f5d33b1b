"""The installed layer plugins by class name: ``from minikeras_core.layers import ...`` resolves through the registry."""

from ._namespace import plugin_namespace

__getattr__, __dir__ = plugin_namespace("layer")
