"""An example third-party Mini-Keras plugin package, living outside the core.

It depends only on ``minikeras-core`` (and numpy) and registers two plugins through entry points
in its ``pyproject.toml``: the ``leaky_relu`` activation and the ``log_cosh`` loss.
"""
