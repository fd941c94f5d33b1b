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

import io
import json
import os
import zipfile
from typing import Any

import numpy as np

from ._atomic import write_atomically
from ._version import __version__
from .errors import UnknownPluginError
from .registry import REGISTRY, get, has_plugin, registered_name

FORMAT = "minikeras"
FORMAT_VERSION = 1
HEADER = "minikeras.json"
_ZIP_MAGIC = b"PK\x03\x04"


class SaveFormatError(ValueError):
    """A file is not a readable Mini-Keras file: foreign, truncated, corrupt or of an unknown format version."""


# -- writing ----------------------------------------------------------------------------------
class _ArrayStore:
    """Collects the arrays of one file and hands out their member names."""

    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}

    def add(self, array: np.ndarray) -> str:
        array = np.asarray(array)
        if array.dtype.kind not in "fiub":
            raise TypeError(f"save: only numeric arrays can be saved, got dtype {array.dtype}")
        member = f"arrays/{len(self.arrays):05d}.npy"
        self.arrays[member] = array
        return member

    def encode(self, value: Any) -> Any:
        """``value`` as JSON, each array replaced by ``{"__array__": member}``."""
        if isinstance(value, np.ndarray):
            return {"__array__": self.add(value)}
        if isinstance(value, dict):
            return {str(k): self.encode(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.encode(v) for v in value]
        if isinstance(value, np.generic):
            return value.item()
        if isinstance(value, np.dtype):
            return value.name
        return value


def _weights_index(model: Any, store: _ArrayStore) -> list[dict]:
    index = []
    for layer in model.flat_layers:
        for key, value in zip(layer.params, layer.get_weights()):
            index.append({"layer": layer.name, "name": key, "shape": list(value.shape), "dtype": value.dtype.name, "array": store.add(value)})
    return index


def _header(model: Any, content: str, store: _ArrayStore) -> dict:
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
    store = _ArrayStore()
    _write_archive(os.fspath(path), _header(model, "model", store), store.arrays)


def save_weights(model: Any, path: Any) -> None:
    """Write only ``model``'s weights (with the architecture for checking) to ``path``."""
    store = _ArrayStore()
    _write_archive(os.fspath(path), _header(model, "weights", store), store.arrays)


def _write_archive(path: str, header: dict, arrays: dict[str, np.ndarray]) -> None:
    """Write the archive atomically (see :mod:`minikeras_core._atomic`): the previous file stays whole until the rename."""

    def write(raw: Any) -> None:
        with zipfile.ZipFile(raw, "w", compression=zipfile.ZIP_STORED) as archive:
            archive.writestr(HEADER, json.dumps(header, indent=1))
            for member, array in arrays.items():
                with archive.open(member, "w", force_zip64=array.nbytes > 2**30) as stream:
                    np.lib.format.write_array(stream, np.ascontiguousarray(array), allow_pickle=False)

    write_atomically(path, write)


# -- reading ----------------------------------------------------------------------------------
class _Archive:
    """An opened Mini-Keras file: its checked header and its arrays, read without pickle."""

    def __init__(self, path: Any) -> None:
        self.path = os.fspath(path)
        if not os.path.isfile(self.path):
            raise FileNotFoundError(f"{self.path}: no such file")
        with open(self.path, "rb") as handle:
            magic = handle.read(4)
        if magic != _ZIP_MAGIC:
            raise SaveFormatError(f"{self.path}: not a Mini-Keras file (not a zip archive); expected a file written by Sequential.save or save_weights")
        try:
            self.zip = zipfile.ZipFile(self.path)
            names = set(self.zip.namelist())
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as err:
            raise SaveFormatError(f"{self.path}: the file is truncated or corrupt ({err})") from None
        if HEADER not in names:
            raise SaveFormatError(f"{self.path}: a zip archive but not a Mini-Keras file (it has no {HEADER} member)")
        try:
            header = json.loads(self.zip.read(HEADER).decode("utf-8"))
        except (zipfile.BadZipFile, OSError, EOFError, UnicodeDecodeError, ValueError) as err:
            raise SaveFormatError(f"{self.path}: the file is corrupt: its header cannot be read ({err})") from None
        if not isinstance(header, dict) or header.get("format") != FORMAT:
            raise SaveFormatError(f"{self.path}: not a Mini-Keras file (its {HEADER} does not declare format {FORMAT!r})")
        version = header.get("format_version")
        if not isinstance(version, int) or isinstance(version, bool):
            raise SaveFormatError(f"{self.path}: the file is corrupt: format_version is {version!r}, expected an integer")
        if version != FORMAT_VERSION:
            newer = version > FORMAT_VERSION
            raise SaveFormatError(
                f"{self.path}: written in Mini-Keras file format version {version} "
                f"(by minikeras {header.get('minikeras_version', '?')}); this minikeras reads format version {FORMAT_VERSION}"
                + ("; upgrade minikeras-core to read it" if newer else "; re-save it with a matching minikeras version")
            )
        self.header = header

    def close(self) -> None:
        self.zip.close()

    def __enter__(self) -> _Archive:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def field(self, key: str) -> Any:
        if key not in self.header:
            raise SaveFormatError(f"{self.path}: the file is corrupt: its header has no {key!r}")
        return self.header[key]

    def array(self, member: Any) -> np.ndarray:
        if not isinstance(member, str):
            raise SaveFormatError(f"{self.path}: the file is corrupt: bad array reference {member!r}")
        try:
            data = self.zip.read(member)  # checks the member's CRC
            array = np.lib.format.read_array(io.BytesIO(data), allow_pickle=False)
        except KeyError:
            raise SaveFormatError(f"{self.path}: the file is corrupt: array {member!r} is missing") from None
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as err:
            raise SaveFormatError(f"{self.path}: the file is corrupt: array {member!r} cannot be read ({err})") from None
        if array.dtype.kind not in "fiub":
            raise SaveFormatError(f"{self.path}: the file is corrupt: array {member!r} has non-numeric dtype {array.dtype}")
        return array

    def decode(self, value: Any) -> Any:
        if isinstance(value, dict):
            if set(value) == {"__array__"}:
                return self.array(value["__array__"])
            return {k: self.decode(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.decode(v) for v in value]
        return value

    def weights(self) -> list[tuple[dict, np.ndarray]]:
        index = self.field("weights")
        if not isinstance(index, list):
            raise SaveFormatError(f"{self.path}: the file is corrupt: 'weights' is not a list")
        pairs = []
        for entry in index:
            if not isinstance(entry, dict) or "array" not in entry:
                raise SaveFormatError(f"{self.path}: the file is corrupt: bad weight entry {entry!r}")
            array = self.array(entry["array"])
            if list(array.shape) != list(entry.get("shape", array.shape)):
                raise SaveFormatError(f"{self.path}: the file is corrupt: weight {entry.get('layer')}/{entry.get('name')} has shape {array.shape}, its index says {entry.get('shape')}")
            pairs.append((entry, array))
        return pairs


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




def _check_plugins(archive: _Archive) -> None:
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
    with _Archive(path) as archive:
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


def _set_weights(model: Any, archive: _Archive) -> None:
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
    with _Archive(path) as archive:
        _set_weights(model, archive)
