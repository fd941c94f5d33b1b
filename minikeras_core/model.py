"""The Sequential model: a stack of layers. Training, evaluation and prediction come from the engine's ``Trainer``."""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from . import saving
from .backend import standardize_dtype
from .callbacks import History
from .engine.trainer import Trainer
from .layer import Layer
from .registry import get, register, serialize

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
        self.seed = seed
        self.name = name or "sequential"
        self.layers: list[Layer] = []
        self._rng = np.random.default_rng(seed)
        for layer in layers or []:
            self.add(layer)

    # -- building -----------------------------------------------------------------------------
    def add(self, layer: Any, **kwargs: Any) -> Layer:
        """Append a layer given by registered name, class or instance (with constructor ``kwargs``); returns it.

        The layer is built at once from the previous layer's output shape, so a layer that
        cannot follow it fails here with an error naming both.
        """
        layer = get("layer", layer, **kwargs)
        if layer.name is None:
            layer.name = self._unique_name(type(layer).__name__)
        if self.layers:
            input_shape = self.layers[-1].output_shape
        elif layer.input_size is not None:
            input_shape = layer.input_size
        else:
            raise ValueError(f"{layer._label}: the first layer of a model needs input_size=(...) (the shape of one sample)")
        layer.build(input_shape, dtype=self.dtype, rng=self._rng)
        self.layers.append(layer)
        return layer

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
        self._require_layers()
        return self.layers[0].input_shape

    @property
    def output_shape(self) -> tuple:
        self._require_layers()
        return self.layers[-1].output_shape

    def pop(self) -> Layer:
        """Remove and return the last layer (as Keras's ``Sequential.pop``)."""
        self._require_layers()
        self._setup = None
        return self.layers.pop()

    def count_params(self) -> int:
        """The number of scalar weights in every layer."""
        return sum(layer.count_params() for layer in self.layers)

    def summary(self, print_fn=print) -> None:
        """Print each layer's name, type, output shape and parameter count, then the total."""
        rows = [("Layer (type)", "Output Shape", "Param #")]
        for layer in self.layers:
            rows.append((f"{layer.name} ({type(layer).__name__})", str((None,) + layer.output_shape), f"{layer.count_params():,}"))
        widths = [max(len(r[i]) for r in rows) + 3 for i in range(3)]
        rule = "-" * sum(widths)
        lines = [f'Model: "{self.name}"', "=" * sum(widths)]
        for i, row in enumerate(rows):
            lines.append("".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
            lines.append("=" * sum(widths) if i == 0 else rule)
        lines[-1] = "=" * sum(widths)
        lines.append(f"Total params: {self.count_params():,}")
        print_fn("\n".join(lines))

    # -- weights ------------------------------------------------------------------------------
    def get_weights(self) -> list[np.ndarray]:
        """Copies of every layer's weights, layer by layer in Keras's order."""
        return [w for layer in self.layers for w in layer.get_weights()]

    def set_weights(self, weights: list[np.ndarray]) -> None:
        """Set every layer's weights from a list as ``get_weights`` returns it."""
        weights = list(weights)
        expected = sum(len(layer.params) for layer in self.layers)
        if len(weights) != expected:
            raise ValueError(f"{self.name}: expected {expected} weight arrays, got {len(weights)}")
        for layer in self.layers:
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
            "layers": [serialize(layer) for layer in self.layers],
        }

    @classmethod
    def from_config(cls, config: dict) -> Sequential:
        """A new model with the architecture ``get_config`` described (fresh weights), built through the registry."""
        if not isinstance(config, dict) or not isinstance(config.get("layers"), list):
            raise ValueError(f"Sequential.from_config: expected a dict with a 'layers' list, got {type(config).__name__}")
        model = cls(dtype=config.get("dtype"), seed=config.get("seed"), name=config.get("name"))
        for layer_config in config["layers"]:
            model.add(get("layer", layer_config))
        return model

    def save(self, path: Any) -> None:
        """Write the model to one file: architecture, weights, compile settings and optimizer state.

        The file is a zip of JSON and ``.npy`` arrays (no pickles), written atomically; read it
        back with :func:`minikeras_core.load_model`. See :mod:`minikeras_core.saving`.
        """
        saving.save_model(self, path)

    def save_weights(self, path: Any) -> None:
        """Write only the weights (layer by layer, with their names and shapes) to one file, atomically."""
        saving.save_weights(self, path)

    def load_weights(self, path: Any) -> None:
        """Set the weights from a file ``save_weights`` (or ``save``) wrote; the architecture must match."""
        saving.load_weights(self, path)



register("model", "Sequential", Sequential)
