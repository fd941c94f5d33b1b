"""Constructor-argument capture shared by every plugin kind, so ``get_config`` comes for free."""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np

from .registry import serialize


class Configurable:
    """Records the arguments each instance was constructed with, defaults included (as Keras's configs do).

    ``get_config()`` returns them as JSON-ready values and ``from_config(config)`` calls the
    constructor with them again, which is all Keras's config round-trip asks of a plugin that
    stores its arguments unchanged. A plugin whose state is not its constructor's arguments
    overrides both.
    """

    def __new__(cls, *args: Any, **kwargs: Any):
        if (args or kwargs) and cls.__init__ is object.__init__:
            # object.__init__ ignores arguments once __new__ is overridden: refuse them here instead
            given = [repr(a) for a in args] + sorted(kwargs)
            raise TypeError(f"{cls.__name__} takes no arguments, got {', '.join(given)}")
        instance = super().__new__(cls)
        instance._init_arguments = _bound_arguments(cls, args, kwargs)
        return instance

    def get_config(self) -> dict:
        """Return the constructor arguments as a JSON-ready dict."""
        return {key: to_jsonable(value) for key, value in getattr(self, "_init_arguments", {}).items()}

    @classmethod
    def from_config(cls, config: dict):
        """Build a new instance from ``get_config()``'s output."""
        return cls(**config)


class Plugin(Configurable):
    """What every kind of plugin shares: constructor-argument capture and the conformance declarations.

    ``minikeras_core.testing`` reads two declarations from each plugin class:

    - ``conformance_cases()``: constructor keyword sets the checks build the plugin with, or
      ``None`` (the default: "not declared", the constructor's defaults are used). A plugin whose
      constructor needs arguments and declares none fails ``<kind>_conformance_cases_declared``,
      and so does a layer that declares none, since every case of a layer must give
      ``input_size``, the shape of one sample (``[{"units": 3, "input_size": (4,)}]``).
    - ``expected_failures``: ``{"check_name": "why"}`` for checks the plugin is known to fail;
      the report shows the reason, and a listed check that passes is reported as an unexpected
      pass (a failure), so the list cannot go stale.
    """

    expected_failures: dict[str, str] = {}

    @classmethod
    def conformance_cases(cls) -> list[dict] | None:
        """Constructor keyword sets for the conformance checks, or ``None`` when not declared."""
        return None


def _bound_arguments(cls: type, args: tuple, kwargs: dict) -> dict:
    try:
        bound = inspect.signature(cls.__init__).bind(None, *args, **kwargs)
    except TypeError:
        return {}  # __init__ itself will raise the informative error
    bound.apply_defaults()
    arguments: dict[str, Any] = {}
    parameters = inspect.signature(cls.__init__).parameters
    for key, value in list(bound.arguments.items())[1:]:
        kind = parameters[key].kind
        if kind is inspect.Parameter.VAR_KEYWORD:
            arguments.update(value)
        elif kind is inspect.Parameter.VAR_POSITIONAL:
            if value:
                arguments[key] = list(value)
        else:
            arguments[key] = value
    return arguments


def to_jsonable(value: Any) -> Any:
    """Convert a constructor argument to plain JSON types; plugins become ``{"class_name", "config"}``."""
    if isinstance(value, Configurable) or isinstance(value, type):
        return serialize(value)
    if isinstance(value, (tuple, list)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.dtype):
        return value.name
    return value
