"""Mini-Keras: a Keras-like deep-learning library in numpy, built from plugins.

The core defines four protocols (:class:`Activation`, :class:`Layer`, :class:`Loss`,
:class:`Optimizer`), a registry that finds their implementations by name through entry points,
and the :class:`Sequential` model. Every concrete activation, layer, loss and optimizer is a
plugin, built-in ones included.

>>> from minikeras_core import Sequential
>>> model = Sequential(seed=0)
>>> model.add("dense", units=10, activation="softmax", input_size=(64,))
>>> model.compile("categorical_cross_entropy", optimizer="sgd")
"""

from . import arguments, callbacks, datasets, engine, initializers, spatial
from ._version import __version__
from .activation import Activation, ElementwiseActivation
from .backend import floatx, set_floatx
from .errors import PluginConflictError, PluginError, PluginLoadError, PluginTypeError, UnknownPluginError
from .hooks import Callback, hookimpl
from .layer import Layer
from .loss import Loss
from .metric import Metric
from .model import History, Sequential
from .optimizer import Optimizer, ScratchBuffers
from .registry import get, list_plugins, prefer, refresh, register, registered_name, serialize
from .saving import SaveFormatError, load_model

__all__ = [
    "__version__",
    "Activation",
    "Callback",
    "ElementwiseActivation",
    "History",
    "Layer",
    "Loss",
    "Metric",
    "Optimizer",
    "PluginConflictError",
    "PluginError",
    "PluginLoadError",
    "PluginTypeError",
    "SaveFormatError",
    "ScratchBuffers",
    "Sequential",
    "UnknownPluginError",
    "arguments",
    "callbacks",
    "datasets",
    "engine",
    "floatx",
    "get",
    "hookimpl",
    "initializers",
    "list_plugins",
    "load_model",
    "prefer",
    "refresh",
    "register",
    "registered_name",
    "serialize",
    "set_floatx",
    "spatial",
]
