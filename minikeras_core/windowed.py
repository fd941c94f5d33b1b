"""What layers that slide a window share: Keras's window arguments, and the original form's keywords.

Conv2D and MaxPool2D (and their 1-D cases) take Keras 3's arguments (``kernel_size`` or
``pool_size``, ``strides``, ``padding``, ``data_format``, ``dilation_rate``) and also the
original Mini-Keras form, keywords only (``ksize=``, ``stride=``, ``padding=`` an int).
"""

from __future__ import annotations

from typing import Any

from . import spatial


def window_arguments(owner: str, rank: int, size_name: str, size: Any, strides: Any, padding: Any, data_format: Any,
                     modes: tuple = ("valid", "same"), dilation: Any = 1) -> tuple:
    """``(size, strides, padding, dilation)`` checked and as tuples of ``rank`` ints; ``strides=None`` means ``size``.

    Strides and dilation above 1 do not go together (as in Keras); channels must come last;
    a padding of zeros on every side (an int or one per axis) is taken for 2-D layers only.
    """
    size = spatial.as_tuple(size, rank, size_name, owner)
    steps = size if strides is None else spatial.as_tuple(strides, rank, "strides", owner)
    dilation = spatial.as_tuple(dilation, rank, "dilation_rate", owner)
    if max(steps) > 1 and max(dilation) > 1:
        raise ValueError(f"{owner}: strides={strides!r} with dilation_rate={dilation!r}: strides above 1 "
                         f"and dilation above 1 do not go together (as in Keras); expected one of them 1")
    spatial.channels_last(data_format, owner)
    return size, steps, spatial.as_padding(padding, owner, rank, modes, zeros=rank == 2), dilation


class OriginalForm:
    """Mixed into a layer whose constructor also reads the original form's keywords (``ksize=``, ``stride=``).

    The class names them in ``original_keywords`` (original keyword: Keras's name) and describes
    both forms in ``forms``; its ``__init__`` calls ``original_arguments(kwargs)``. A call mixing
    the forms is a ``TypeError`` (see ``spatial.original_form``). The config is Keras's form, with
    the arguments named in ``window_config`` as the layer holds them once checked (tuples as lists).
    """

    original_keywords: dict[str, str] = {}
    forms = ""
    window_config: tuple[str, ...] = ()

    def __new__(cls, *args: Any, **kwargs: Any):
        layer = super().__new__(cls, *args, **kwargs)
        # only here is the call seen as written: which keywords it names, what came positionally
        layer._original_form = spatial.original_form(cls.__name__, args, kwargs, cls.original_keywords, cls.forms)
        return layer

    def original_arguments(self, kwargs: dict) -> dict | None:
        """For a call in the original form, its arguments under Keras's names, taken out of ``kwargs``; else ``None``."""
        if not self.__dict__.pop("_original_form", False):
            return None
        return {keras: kwargs.pop(original) for original, keras in self.original_keywords.items() if original in kwargs}

    def get_config(self) -> dict:
        config = {k: v for k, v in super().get_config().items() if k not in self.original_keywords}
        held = {name: getattr(self, name) for name in self.window_config}
        return {**config, **{name: list(v) if isinstance(v, tuple) else v for name, v in held.items()}}
