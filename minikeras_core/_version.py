"""The version of minikeras-core, in one place (the package and the saving format read it)."""

__version__ = "0.1.0"
