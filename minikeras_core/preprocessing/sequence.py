"""``keras.preprocessing.sequence``: padding sequences to one length."""

from ..utils import pad_sequences

__all__ = ["pad_sequences"]
