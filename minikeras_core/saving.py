"""Saving and loading models: one zip file of JSON and ``.npy`` arrays, never a pickle.

A Mini-Keras file is a zip archive (stored, not compressed) with these members:

- ``minikeras.json``: the header, UTF-8 JSON: ``format`` (``"minikeras"``), ``format_version``
  (:data:`FORMAT_VERSION`), ``content`` (``"model"`` or ``"weights"``), the writer's version,
  the architecture (``Sequential.get_config()``: every layer by registered name with its
  arguments), the compile settings (loss, optimizer with its learning rate, metrics), an index of
  the weight arrays (layer, weight name, shape, dtype, member), the optimizer's state
  (``Optimizer.get_state()``, arrays replaced by references to members) and the state of the
  model's random generator (used for shuffling when ``fit`` gets no ``seed``).
- ``arrays/00000.npy`` ...: numeric arrays in numpy's ``.npy`` format, written and read with
  ``allow_pickle=False``.

Writes are atomic: the archive goes to a temporary file in the same directory, is flushed and
fsync'ed, then renamed over the target with ``os.replace``; an interrupted save leaves the
previous file untouched. Reading checks the zip's CRCs, the header and every array, and turns any
problem into a :class:`SaveFormatError` naming the file.
"""

from __future__ import annotations

import os
from typing import Any

from ._archive import FORMAT, FORMAT_VERSION, HEADER, Archive, ArrayStore, write_archive  # noqa: F401 (HEADER re-exported)
from ._version import __version__
from .errors import SaveFormatError, UnknownPluginError
from .registry import REGISTRY, get, has_plugin, registered_name


# -- writing ----------------------------------------------------------------------------------
def _weights_index(model: Any, store: ArrayStore) -> list[dict]:
    index = []
    for layer in model.flat_layers:
        for key, value in zip(layer.params, layer.get_weights()):
            index.append({"layer": layer.name, "name": key, "shape": list(value.shape), "dtype": value.dtype.name, "array": store.add(value)})
    return index


def _header(model: Any, content: str, store: ArrayStore) -> dict:
    header: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "content": content,
        "minikeras_version": __version__,
        "class_name": registered_name(model),
        "config": model.get_config(),
        "weights": _weights_index(model, store),
    }
    if content == "model":
        header["compile"] = model.compile_config()
        header["optimizer_state"] = store.encode(model.optimizer.get_state()) if model.optimizer is not None else None
        header["rng_state"] = model._rng.bit_generator.state
        header["noise_base"] = int(getattr(model, "_noise_base", 0))
    return header


def save_model(model: Any, path: Any) -> None:
    """Write ``model`` (architecture, weights, compile settings, optimizer and generator state) to ``path``."""
    store = ArrayStore()
    write_archive(os.fspath(path), _header(model, "model", store), store.arrays)


def save_weights(model: Any, path: Any) -> None:
    """Write only ``model``'s weights (with the architecture for checking) to ``path``."""
    store = ArrayStore()
    write_archive(os.fspath(path), _header(model, "weights", store), store.arrays)


# -- reading ----------------------------------------------------------------------------------
def _required_plugins(header: dict) -> list[tuple[str, str]]:
    """The ``(kind, name)`` of every plugin the header names at top level (layers, their activations, loss, optimizer, metrics)."""
    needed = []
    layers = list((header.get("config") or {}).get("layers", []))
    while layers:
        layer = layers.pop(0)
        if isinstance(layer, dict) and isinstance(layer.get("class_name"), str):
            if has_plugin("model", layer["class_name"]):  # a nested model: what its layers need
                layers[:0] = list((layer.get("config") or {}).get("layers", []))
                continue
            needed.append(("layer", layer["class_name"]))
            activation = (layer.get("config") or {}).get("activation")
            if isinstance(activation, dict):
                activation = activation.get("class_name")
            if isinstance(activation, str):
                needed.append(("activation", activation))
    compiled = header.get("compile") or {}
    for kind in ("loss", "optimizer"):
        if isinstance(compiled.get(kind), dict):
            needed.append((kind, compiled[kind].get("class_name")))
    for metric in compiled.get("metrics") or []:
        if isinstance(metric, dict):
            needed.append(("metric", metric.get("class_name")))
    return [(kind, name) for kind, name in needed if isinstance(name, str)]




def _check_plugins(archive: Archive) -> None:
    for kind, name in _required_plugins(archive.header):
        try:
            REGISTRY.find(kind, name)
        except UnknownPluginError as err:
            raise UnknownPluginError(
                f"{archive.path}: the model needs the {kind} plugin {name!r}, which is not installed "
                f"(install the distribution that provides it, or register it). Registry: {err}"
            ) from None


def load_model(path: Any, compile: bool = True) -> Any:
    """Rebuild a model ``Sequential.save`` wrote: architecture through the registry, weights, and
    (with ``compile``) the loss, optimizer with its state, metrics and the shuffling generator's state,
    so that ``fit`` continues exactly where it stopped.
    """
    with Archive(path) as archive:
        if archive.field("content") != "model":
            raise SaveFormatError(
                f"{archive.path}: holds only weights (written by save_weights); build the model and call load_weights, or save it with model.save"
            )
        _check_plugins(archive)
        try:
            # the model class by the name the file stores, through the registry (files before it was stored: Sequential)
            model = REGISTRY.resolve("model", archive.header.get("class_name", "Sequential")).from_config(archive.field("config"))
        except UnknownPluginError as err:
            raise UnknownPluginError(f"{archive.path}: the model needs a plugin that is not installed: {err}") from None
        except (KeyError, TypeError, ValueError) as err:
            raise SaveFormatError(f"{archive.path}: the architecture cannot be rebuilt ({type(err).__name__}: {err})") from err
        _set_weights(model, archive)
        compiled = archive.header.get("compile")
        if compile and compiled:
            model.compile(
                get("loss", compiled["loss"]),
                optimizer=get("optimizer", compiled["optimizer"]),
                metrics=[get("metric", m) for m in compiled.get("metrics", [])],
            )
            state = archive.header.get("optimizer_state")
            if state is not None:
                model.optimizer.set_state(archive.decode(state))
        if isinstance(archive.header.get("noise_base"), int):
            model._noise_base = archive.header["noise_base"]
        rng_state = archive.header.get("rng_state")
        if rng_state is not None:
            try:
                model._rng.bit_generator.state = rng_state
            except (TypeError, ValueError, KeyError) as err:
                raise SaveFormatError(f"{archive.path}: the random generator state cannot be restored ({err})") from None
    return model


def _set_weights(model: Any, archive: Archive) -> None:
    pairs = archive.weights()
    expected = [(layer.name, key, layer.params[key].shape) for layer in model.flat_layers for key in layer.params]
    got = [(entry.get("layer"), entry.get("name"), tuple(array.shape)) for entry, array in pairs]
    if [(n, s) for _, n, s in expected] != [(n, s) for _, n, s in got]:
        raise ValueError(
            f"{archive.path}: its weights do not fit this model: the file has "
            f"{[f'{layer}/{name} {shape}' for layer, name, shape in got]}, the model expects "
            f"{[f'{layer}/{name} {shape}' for layer, name, shape in expected]}"
        )
    model.set_weights([array for _, array in pairs])


def load_weights(model: Any, path: Any) -> None:
    """Set ``model``'s weights from a file ``save_weights`` or ``save`` wrote; weight names and shapes must match."""
    with Archive(path) as archive:
        _set_weights(model, archive)
