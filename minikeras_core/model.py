"""The Sequential model: a stack of layers. Training, evaluation and prediction come from the engine's ``Trainer``."""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from . import saving
from ._summary import summary_table
from .backend import default_seed, standardize_dtype
from .callbacks import History
from .engine.trainer import Trainer, noise_base
from .layer import Layer
from .registry import REGISTRY, get, has_plugin, is_registered_as, register, serialize
from .strategy import writes_files

__all__ = ["History", "Sequential"]


class Sequential(Trainer):
    """A linear stack of layers, used as in Keras.

    >>> model = Sequential(seed=0)
    >>> model.add("dense", units=8, activation="relu", input_size=(4,))
    >>> model.add("dense", units=3, activation="softmax")
    >>> model.compile("categorical_cross_entropy", optimizer="adam")

    ``dtype`` is the computation dtype (``minikeras_core.floatx()`` by default); ``seed`` makes
    weight initialisation and shuffling reproducible. ``compile``, ``fit``, ``evaluate`` and
    ``predict`` are the engine's (:class:`minikeras_core.engine.Trainer`).
    """

    def __init__(self, layers: list | None = None, *, dtype: Any = None, seed: int | None = None, name: str | None = None) -> None:
        self.dtype = standardize_dtype(dtype)
        self.seed = seed = default_seed(seed)
        self.name = name or "sequential"
        self.layers: list[Layer | Sequential] = []
        self._input: Layer | None = None  # a keras.Input / InputLayer given first: it fixes the input shape
        self._rng = np.random.default_rng(seed)
        self._noise_base = noise_base(seed)
        for layer in layers or []:
            self.add(layer)

    # -- building -----------------------------------------------------------------------------
    def add(self, layer: Any, /, **kwargs: Any) -> Layer | Sequential:
        """Append a layer given by registered name, class or instance (with constructor ``kwargs``); returns it.

        As in Keras, the first element may be ``keras.Input(shape=...)`` (an ``InputLayer``), the
        first layer may give ``input_shape=`` (or the seed's ``input_size=``), and a ``Sequential``
        may be added as a layer. Once the input shape is known each layer is built at ``add`` from
        the previous layer's output shape, so a layer that cannot follow it fails here with an
        error naming both; without one the model is built when it first sees data.
        """
        if not isinstance(layer, Sequential):
            layer = get("layer", layer, **kwargs)
            if is_registered_as(layer, "InputLayer"):
                return self._add_input(layer)
            if layer.name is None:
                layer.name = self._unique_name(type(layer).__name__)
        elif kwargs:
            raise TypeError(f"{self.name}.add: got a model and arguments {sorted(kwargs)}; give the model alone")
        shape = self._next_input_shape(layer)
        if shape is not None:
            _build(layer, shape, self.dtype, self._rng)
        self.layers.append(layer)
        self._setup = None
        return layer

    def _add_input(self, input_layer: Layer) -> Layer:
        if self.layers or self._input is not None:
            raise ValueError(f"{self.name}: an Input (InputLayer) can only come first, before any layer")
        input_layer.build(input_layer.input_size, dtype=self.dtype)
        self._input = input_layer
        return input_layer

    def _next_input_shape(self, layer: Any) -> tuple | None:
        """The shape the layer added next receives: the last layer's output, or the model's input, or its own."""
        if self.layers:
            return self.layers[-1].output_shape if self.built else None
        if self._input is not None:
            return self._input.input_size
        return layer.input_size if isinstance(layer, Layer) else (layer.input_shape if layer.built else None)

    @property
    def built(self) -> bool:
        """Whether every layer is built (the input shape is known)."""
        return bool(self.layers) and all(layer.built for layer in self.layers)

    def build(self, input_shape: tuple) -> None:
        """Build every layer in turn for samples of ``input_shape`` (Keras builds a model without one when it first sees data)."""
        shape = tuple(int(s) for s in input_shape)
        for layer in self.layers:
            _build(layer, shape, self.dtype, self._rng)
            shape = layer.output_shape
        self._setup = None

    @property
    def flat_layers(self) -> list[Layer]:
        """The layers that compute, in order, with every nested model's layers in its place: what the engine runs."""
        return [leaf for layer in self.layers for leaf in (layer.flat_layers if isinstance(layer, Sequential) else [layer])]

    def _unique_name(self, class_name: str) -> str:
        # snake case as Keras names layers: Conv2D -> conv2d, MaxPool2D -> max_pool2d, BasicRNN -> basic_rnn
        base = re.sub(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Za-z0-9])(?=[A-Z][a-z])", "_", class_name).lower()
        taken = {layer.name for layer in self.layers}
        if base not in taken:
            return base
        index = 1
        while f"{base}_{index}" in taken:
            index += 1
        return f"{base}_{index}"

    @property
    def input_shape(self) -> tuple:
        self._require_built()
        return self.layers[0].input_shape

    @property
    def output_shape(self) -> tuple:
        self._require_built()
        return self.layers[-1].output_shape

    def _require_built(self) -> None:
        self._require_layers()
        if not self.built:
            raise ValueError(
                f"{self.name}: the model is not built yet: its input shape is unknown; give the first layer "
                "input_shape=(...), start with keras.Input(shape=(...)), or call build(input_shape) or fit first"
            )

    def pop(self) -> Layer:
        """Remove and return the last layer (as Keras's ``Sequential.pop``)."""
        self._require_layers()
        self._setup = None
        return self.layers.pop()

    def count_params(self) -> int:
        """The number of scalar weights in every layer."""
        return sum(layer.count_params() for layer in self.layers)

    @property
    def trainable(self) -> bool:
        """Keras's ``model.trainable``: false when every layer is frozen; setting it freezes or unfreezes them all."""
        return any(layer.trainable for layer in self.layers)

    @trainable.setter
    def trainable(self, value: bool) -> None:
        for layer in self.layers:
            layer.trainable = bool(value)

    def count_trainable_params(self) -> int:
        """The number of scalar weights the optimizer trains."""
        return sum(layer.count_trainable_params() for layer in self.layers)

    def summary(self, print_fn=print) -> None:
        """Print Keras's table: each layer's name and type, output shape and parameter count, then the totals."""
        self._require_built()
        print_fn(summary_table(self.name, self.layers, self.count_params(), self.count_trainable_params()))

    # -- weights ------------------------------------------------------------------------------
    def get_weights(self) -> list[np.ndarray]:
        """Copies of every layer's weights, layer by layer in Keras's order."""
        return [w for layer in self.flat_layers for w in layer.get_weights()]

    def set_weights(self, weights: list[np.ndarray]) -> None:
        """Set every layer's weights from a list as ``get_weights`` returns it."""
        weights = list(weights)
        expected = sum(len(layer.params) for layer in self.flat_layers)
        if len(weights) != expected:
            raise ValueError(f"{self.name}: expected {expected} weight arrays, got {len(weights)}")
        for layer in self.flat_layers:
            count = len(layer.params)
            layer.set_weights(weights[:count])
            weights = weights[count:]

    # -- saving and configuration -------------------------------------------------------------
    def get_config(self) -> dict:
        """The architecture as JSON-ready data: name, dtype, seed and each layer's registered name and arguments."""
        return {
            "name": self.name,
            "dtype": self.dtype.name,
            "seed": self.seed,
            "input_shape": list(self.input_shape) if self.built else None,
            "layers": [serialize(layer) for layer in self.layers],
        }

    @classmethod
    def from_config(cls, config: dict) -> Sequential:
        """A new model with the architecture ``get_config`` described (fresh weights), built through the registry."""
        if not isinstance(config, dict) or not isinstance(config.get("layers"), list):
            raise ValueError(f"Sequential.from_config: expected a dict with a 'layers' list, got {type(config).__name__}")
        model = cls(dtype=config.get("dtype"), seed=config.get("seed"), name=config.get("name"))
        for layer_config in config["layers"]:
            name = layer_config.get("class_name") if isinstance(layer_config, dict) else None
            if isinstance(name, str) and has_plugin("model", name):
                model.add(REGISTRY.resolve("model", name).from_config(layer_config.get("config", {})))
            else:
                model.add(get("layer", layer_config))
        if not model.built and config.get("input_shape") and model.layers:
            model.build(tuple(config["input_shape"]))
        return model

    def save(self, path: Any) -> None:
        """Write the model to one file: architecture, weights, compile settings and optimizer state.

        The file is a zip of JSON and ``.npy`` arrays (no pickles), written atomically; read it
        back with :func:`minikeras_core.load_model`. See :mod:`minikeras_core.saving`.
        """
        if writes_files(self):  # under a strategy, rank 0 alone writes
            saving.save_model(self, path)

    def save_weights(self, path: Any) -> None:
        """Write only the weights (layer by layer, with their names and shapes) to one file, atomically."""
        if writes_files(self):
            saving.save_weights(self, path)

    def load_weights(self, path: Any) -> None:
        """Set the weights from a file ``save_weights`` (or ``save``) wrote; the architecture must match."""
        saving.load_weights(self, path)



register("model", "Sequential", Sequential)


def _build(layer: Layer | Sequential, shape: tuple, dtype: np.dtype, rng: np.random.Generator) -> None:
    """Build ``layer`` for samples of ``shape``; a nested model already built must fit that shape."""
    if isinstance(layer, Sequential):
        if not layer.built:
            layer.build(shape)
        elif layer.input_shape != tuple(shape):
            raise ValueError(f"model {layer.name!r}: it takes samples of shape {layer.input_shape} but the previous layer outputs {tuple(shape)}")
        return
    layer.build(shape, dtype=dtype, rng=rng)


