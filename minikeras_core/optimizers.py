"""The installed optimizer plugins by class name: ``from minikeras_core.optimizers import ...`` resolves through the registry."""

from ._namespace import plugin_namespace

__getattr__, __dir__ = plugin_namespace("optimizer")
