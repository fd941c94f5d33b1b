"""The installed metric plugins by class name: ``from minikeras_core.metrics import ...`` resolves through the registry."""

from ._namespace import plugin_namespace

__getattr__, __dir__ = plugin_namespace("metric")
