"""``keras.models``: the model classes and ``load_model``."""

from .model import Sequential
from .saving import load_model

__all__ = ["Sequential", "load_model"]
