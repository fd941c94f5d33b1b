"""Weight initializers as Keras's ``keras.initializers`` reads: classes and snake_case names through the registry.

``from minikeras_core.initializers import GlorotUniform`` (or ``glorot_uniform``, Keras's other
spelling of the same class) imports the plugin registered under that name. :func:`get` turns
anything a layer's ``*_initializer`` argument may be into an initializer; :func:`get_initializer`
is what ``Layer.add_weight`` calls.

Before initializers were plugins, they were functions ``f(shape, rng, dtype)``; such a callable is
still accepted wherever an initializer is (see :func:`get_initializer`), and the names
``"glorot_uniform"``, ``"he_normal"``, ``"orthogonal"``, ``"zeros"`` and ``"ones"`` give the same
values from the same generator as those functions did.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import numpy as np

from ._namespace import plugin_namespace
from .backend import standardize_dtype
from .initializer import (
    TRUNCATED_NORMAL_STDDEV,
    Initializer,
    RandomInitializer,
    as_shape,
    compute_fans,
    sample_truncated_normal,
    takes_rng,
)
from .registry import get as _get_plugin
from .registry import serialize as _serialize

__all__ = [
    "TRUNCATED_NORMAL_STDDEV",
    "Initializer",
    "RandomInitializer",
    "compute_fans",
    "deserialize",
    "get",
    "get_initializer",
    "serialize",
    "sample_truncated_normal",
]

__getattr__, __dir__ = plugin_namespace("initializer")

#: What ``get_initializer`` returns: called as ``init(shape, dtype=None, rng=None)``.
InitializerLike = Callable[..., np.ndarray]


def get(identifier: Any) -> Any:
    """Keras's ``keras.initializers.get``: an initializer from a name, class, instance, config dict or callable.

    ``None`` gives ``None``; a class is instantiated with its defaults; a callable that is not an
    :class:`Initializer` is returned as it is.
    """
    if identifier is None:
        return None
    if isinstance(identifier, (str, dict, Initializer)) or isinstance(identifier, type):
        return _get_plugin("initializer", identifier)
    if callable(identifier):
        return identifier
    raise ValueError(
        f"initializer: got {identifier!r}, expected a registered name (e.g. 'glorot_uniform'), an Initializer "
        "class or instance, a {'class_name': ..., 'config': {...}} dict, a callable or an array of the weight's values"
    )


def get_initializer(identifier: Any) -> InitializerLike:
    """An initializer to call as ``init(shape, dtype=None, rng=None)``, from anything a layer accepts.

    ``identifier`` is a registered name (Keras's: ``"glorot_uniform"``, ``"he_normal"``,
    ``"uniform"``, ``"normal"``, ``"zeros"``, ``"orthogonal"``, ``"identity"``, ...; class names
    too), an :class:`Initializer` class or instance, a config dict ``{"class_name", "config"}``,
    ``None`` (Keras's default for a float weight, ``"glorot_uniform"``), an array (or nested
    list) of the weight's values, or a callable: Keras's form ``f(shape, dtype=None)`` (its second
    parameter named ``dtype``, or it takes only ``shape``) or the form before plugins,
    ``f(shape, rng, dtype)``. Unknown names raise the registry's error with suggestions.
    """
    if identifier is None:
        identifier = "glorot_uniform"
    if isinstance(identifier, (np.ndarray, list)):
        return _from_values(identifier)
    init = get(identifier)
    if isinstance(init, Initializer) and takes_rng(init):
        return init
    return _adapt(init)


def _adapt(function: Callable) -> InitializerLike:
    """Call a callable of either older form as ``init(shape, dtype=None, rng=None)``."""
    try:
        parameters = list(inspect.signature(function).parameters.values())
    except (TypeError, ValueError):  # a builtin without a signature: the form before plugins
        parameters = []
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    keras_form = bool(parameters) and (len(positional) <= 1 or positional[1].name == "dtype")
    if not keras_form:
        def call(shape: Any, dtype: Any = None, rng: np.random.Generator | None = None) -> np.ndarray:
            rng = rng if rng is not None else np.random.default_rng()
            return function(tuple(shape), rng, standardize_dtype(dtype))
        return call
    names = {p.name for p in parameters}
    extra = any(p.kind is p.VAR_KEYWORD for p in parameters)

    def call(shape: Any, dtype: Any = None, rng: np.random.Generator | None = None) -> np.ndarray:
        kwargs = {}
        if "dtype" in names or extra or len(positional) > 1:
            kwargs["dtype"] = standardize_dtype(dtype)
        if "rng" in names or extra:
            kwargs["rng"] = rng
        return function(tuple(shape), **kwargs)

    return call


def _from_values(values: Any) -> InitializerLike:
    """Keras's array identifier: the given values, for a weight of exactly their shape."""
    array = np.asarray(values)
    if array.dtype.kind not in "biuf":
        raise ValueError(f"initializer: got values of dtype {array.dtype}, expected numbers")

    def call(shape: Any, dtype: Any = None, rng: np.random.Generator | None = None) -> np.ndarray:
        shape = as_shape(shape)
        if array.shape != shape:
            raise ValueError(f"initializer: the given values have shape {array.shape}, but the weight has shape {shape}")
        return np.array(array, dtype=standardize_dtype(dtype))

    return call


def serialize(initializer: Initializer) -> dict:
    """``{"class_name": registered name, "config": get_config()}``, as layer configs store it."""
    return _serialize(initializer)


def deserialize(config: dict) -> Initializer:
    """The initializer a ``serialize`` dict describes (Keras's saved dicts, with ``module`` etc., work too)."""
    return _get_plugin("initializer", config)
