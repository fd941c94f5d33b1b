"""Train a model described by a JSON file, as ``minikeras train CONFIG.json`` does.

The file names every part by its registered name::

    {
      "seed": 0,
      "dtype": "float32",
      "data": {"source": "digits", "n_class": 10, "scale": 0.0625},
      "layers": [
        {"type": "flatten", "input_size": [8, 8]},
        {"type": "dense", "units": 32, "activation": "relu"},
        {"type": "dense", "units": 10, "activation": "softmax"}
      ],
      "loss": "categorical_cross_entropy",
      "optimizer": {"type": "sgd", "learning_rate": 0.1, "momentum": 0.9},
      "metrics": ["accuracy"],
      "fit": {"epochs": 10, "batch_size": 32, "validation_split": 0.2},
      "output": "digits_dense.mk"
    }

- ``layers``, ``loss``, ``optimizer``, ``metrics``: a registered name, or a dict with ``"type"``
  (the name) and the constructor's arguments, or the registry's ``{"class_name", "config"}`` form.
- ``data``: ``{"source": "digits"}`` (the shipped 8x8 digits, images ``(n, 8, 8)`` scaled by
  ``scale``, default 1/16; ``n_class`` keeps the first classes), or ``{"path": "data.npz"}``
  with arrays ``x`` and ``y`` (names set by ``"x"`` / ``"y"``; optional ``"x_val"`` / ``"y_val"``
  become ``validation_data``). Relative paths are relative to the config file. The ``.npz`` is
  read with ``allow_pickle=False``.
- ``fit``: keyword arguments of ``Sequential.fit`` (``epochs``, ``batch_size``,
  ``validation_split``, ``shuffle``, ``seed``, ``verbose``, ...).
- ``output``: where the trained model is saved (``model.save``), relative to the current
  directory; default: the config's name with ``.mk``.
"""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np

from .model import Sequential
from .registry import get


class ConfigError(ValueError):
    """The training configuration is invalid; the message names the file and the entry."""


def _part(kind: str, spec: Any, where: str) -> Any:
    """Build a plugin of ``kind`` from a name, a ``{"type": name, ...}`` dict or a registry config dict."""
    if isinstance(spec, str) or (isinstance(spec, dict) and "class_name" in spec):
        return get(kind, spec)
    if isinstance(spec, dict) and isinstance(spec.get("type"), str):
        arguments = {k: v for k, v in spec.items() if k != "type"}
        return get(kind, spec["type"], **arguments)
    raise ConfigError(f"{where}: expected a registered {kind} name or a dict with 'type', got {spec!r}")


def load_config(path: str | os.PathLike) -> dict:
    """Read and check the JSON file at ``path``."""
    path = os.fspath(path)
    try:
        with open(path, encoding="utf-8") as handle:
            config = json.load(handle)
    except json.JSONDecodeError as err:
        raise ConfigError(f"{path}: not valid JSON ({err})") from None
    if not isinstance(config, dict):
        raise ConfigError(f"{path}: expected a JSON object, got {type(config).__name__}")
    for key in ("layers", "loss"):
        if key not in config:
            raise ConfigError(f"{path}: missing {key!r}")
    if not isinstance(config["layers"], list) or not config["layers"]:
        raise ConfigError(f"{path}: 'layers' must be a non-empty list")
    unknown = set(config) - {"seed", "dtype", "name", "data", "layers", "loss", "optimizer", "metrics", "fit", "output"}
    if unknown:
        raise ConfigError(f"{path}: unknown keys {sorted(unknown)}")
    return config


def load_data(data: dict, base: str, where: str) -> tuple[np.ndarray, np.ndarray, tuple | None]:
    """The training arrays (and validation pair or ``None``) the ``data`` entry describes."""
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: 'data' must be an object, got {data!r}")
    if "path" in data:
        path = data["path"] if os.path.isabs(data["path"]) else os.path.join(base, data["path"])
        try:
            with np.load(path, allow_pickle=False) as archive:
                names = set(archive.files)
                x_name, y_name = data.get("x", "x"), data.get("y", "y")
                missing = [n for n in (x_name, y_name) if n not in names]
                if missing:
                    raise ConfigError(f"{where}: {path} has no arrays {missing} (it has {sorted(names)})")
                X, y = archive[x_name], archive[y_name]
                validation = None
                x_val, y_val = data.get("x_val", "x_val"), data.get("y_val", "y_val")
                if x_val in names and y_val in names:
                    validation = (archive[x_val], archive[y_val])
        except (OSError, ValueError) as err:
            if isinstance(err, ConfigError):
                raise
            raise ConfigError(f"{where}: cannot read {path} as an .npz of numeric arrays ({err})") from None
        return X, y, validation
    if data.get("source", "digits") == "digits":
        from .datasets import load_digits

        X, y = load_digits(n_class=int(data.get("n_class", 10)))
        return X * float(data.get("scale", 1 / 16)), y, None
    raise ConfigError(f"{where}: 'data' must be {{'source': 'digits'}} or {{'path': 'file.npz'}}, got {data!r}")


def build_model(config: dict, where: str) -> Sequential:
    """The compiled model the config describes."""
    model = Sequential(dtype=config.get("dtype"), seed=config.get("seed"), name=config.get("name"))
    for i, layer in enumerate(config["layers"]):
        model.add(_part("layer", layer, f"{where}: layers[{i}]"))
    metrics = config.get("metrics") or []
    if not isinstance(metrics, list):
        raise ConfigError(f"{where}: 'metrics' must be a list, got {metrics!r}")
    model.compile(
        _part("loss", config["loss"], f"{where}: loss"),
        optimizer=_part("optimizer", config.get("optimizer", "sgd"), f"{where}: optimizer"),
        metrics=[m if isinstance(m, str) else _part("metric", m, f"{where}: metrics") for m in metrics],
    )
    return model


def train_from_config(
    path: str | os.PathLike, *, output: str | None = None, plot: str | None = None, verbose: int | None = None, summary: bool = True
) -> tuple[Sequential, Any, str]:
    """Train as the config at ``path`` says; save the model; returns ``(model, history, saved path)``.

    ``output`` overrides the config's ``output``; ``plot`` writes the curves there (needs
    matplotlib, checked before training so a missing extra fails fast); ``verbose`` overrides
    the fit's.
    """
    path = os.fspath(path)
    if plot is not None:
        from .plotting import _figure_class

        _figure_class()
    config = load_config(path)
    base = os.path.dirname(os.path.abspath(path))
    X, y, validation = load_data(config.get("data", {"source": "digits"}), base, path)
    model = build_model(config, path)
    if summary:
        model.summary()
    fit_args = dict(config.get("fit") or {})
    if validation is not None and "validation_split" not in fit_args:
        fit_args["validation_data"] = validation
    if verbose is not None:
        fit_args["verbose"] = verbose
    history = model.fit(X, y, **fit_args)
    target = output or config.get("output") or os.path.splitext(os.path.basename(path))[0] + ".mk"
    model.save(target)
    if plot is not None:
        history.plot(plot)
    return model, history, target
