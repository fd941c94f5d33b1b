"""The built-in Mini-Keras plugins, one per module, each registered through its own entry point.

Nothing here is imported by the core: the registry finds each class by name through the entry
points declared in ``plugins/pyproject.toml``, exactly as it finds a third party's plugins.
"""
