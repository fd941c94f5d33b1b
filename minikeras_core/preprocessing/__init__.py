"""Keras's ``keras.preprocessing`` for the Sequential API: ``preprocessing.sequence.pad_sequences``."""

from . import sequence

__all__ = ["sequence"]
