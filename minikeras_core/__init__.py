"""Mini-Keras: a Keras-like deep-learning library in numpy, built from plugins.

The core defines the protocols (:class:`Activation`, :class:`Layer`, :class:`Loss`,
:class:`Optimizer`, :class:`Metric`), a registry that finds their implementations by name
through entry points, the :class:`Sequential` model and its training engine. Every concrete
activation, layer, loss, optimizer and metric is a plugin, built-in ones included.

The package reads as Keras's top-level module for the Sequential API: a Keras program runs with
``import minikeras_core as keras`` (``keras.layers.Dense``, ``keras.losses``, ``keras.optimizers``,
``keras.metrics``, ``keras.callbacks``, ``keras.initializers``, ``keras.models``, ``keras.utils``,
``keras.preprocessing.sequence``, ``keras.backend``, ``keras.Input``). The plugin namespaces
resolve class names through the registry and import a plugin only when it is used.

>>> import minikeras_core as keras
>>> model = keras.Sequential([keras.Input(shape=(64,)), keras.layers.Dense(10, activation="softmax")])
>>> model.compile(optimizer="sgd", loss="categorical_crossentropy")
"""

from . import (
    activations,
    arguments,
    backend,
    callbacks,
    datasets,
    engine,
    initializers,
    layers,
    losses,
    metrics,
    models,
    optimizers,
    preprocessing,
    spatial,
    utils,
)
from . import backend as config
from ._version import __version__
from .activation import Activation, ElementwiseActivation
from .backend import floatx, set_floatx
from .errors import PluginConflictError, PluginError, PluginLoadError, PluginTypeError, UnknownPluginError
from .hooks import Callback, hookimpl
from .inputs import Input
from .layer import Layer
from .loss import Loss
from .metric import Metric
from .model import History, Sequential
from .optimizer import Optimizer, ScratchBuffers
from .registry import get, list_plugins, prefer, refresh, register, registered_name, serialize
from .saving import SaveFormatError, load_model
from .strategy import Strategy, distribute

__all__ = [
    "__version__",
    "Activation",
    "Callback",
    "ElementwiseActivation",
    "History",
    "Input",
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
    "Strategy",
    "UnknownPluginError",
    "arguments",
    "utils",
    "preprocessing",
    "optimizers",
    "models",
    "metrics",
    "losses",
    "layers",
    "config",
    "backend",
    "activations",
    "callbacks",
    "datasets",
    "distribute",
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
