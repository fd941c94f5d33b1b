"""Errors of Mini-Keras: the registry's, each naming the plugin, its kind and what to do, and the file format's."""


class PluginError(Exception):
    """Base class for registry errors."""


class UnknownPluginError(PluginError, ValueError):
    """No plugin of that kind has the given name."""


class PluginConflictError(PluginError):
    """Two installed distributions claim the same name; choose one with ``registry.prefer``."""


class PluginLoadError(PluginError, ImportError):
    """A plugin's entry point failed to import."""


class PluginTypeError(PluginError, TypeError):
    """A plugin is not of the kind its entry-point group promises."""


class SaveFormatError(ValueError):
    """A file is not a readable Mini-Keras file: foreign, truncated, corrupt or of an unknown format version."""
