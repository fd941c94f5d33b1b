"""The Metric protocol: a figure reported during training that training does not optimise."""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np

from ._config import Plugin
from .registry import register_kind, registered_name
from .targets import match_targets, target_class_ids


class Metric(Plugin, ABC):
    """A metric compares ``y_pred`` ``(batch, ..., k)`` with ``y_true`` and returns the mean over samples.

    Implement ``per_sample(y_pred, y_true)``: one value per sample (shape ``y_pred.shape[:-1]``),
    with ``y_true`` of ``y_pred``'s shape: ``__call__`` adds back the axis of a single output
    unit and turns integer class ids (shape ``y_pred.shape[:-1]``) into one-hot rows, so every
    metric takes the same targets as a categorical loss. ``__call__`` returns the mean as a Python
    float, so ``fit`` can average it over batches weighted by their size and get the exact figure
    over the epoch.

    ``name`` is the key in ``fit``'s logs and ``History`` (the registered name unless given);
    ``direction`` is ``"up"`` when larger is better (accuracies) and ``"down"`` otherwise, which
    ``EarlyStopping`` and ``ModelCheckpoint`` use to infer their ``mode``.

    Metrics are plugins of the kind ``"metric"`` (entry-point group ``minikeras.metrics``):
    ``minikeras_core.get("metric", "accuracy")``.
    """

    direction = "down"

    def __init__(self, name: str | None = None) -> None:
        self.name = str(name) if name is not None else registered_name(self)

    def __call__(self, y_pred: np.ndarray, y_true: np.ndarray) -> float:
        """Return the mean over samples, a Python float."""
        y_pred = np.asarray(y_pred)
        y_true = match_targets(y_true, y_pred, type(self).__name__, class_ids=True)
        return float(np.mean(self.per_sample(y_pred, y_true), dtype=np.float64))

    @classmethod
    def hand_computed_case(cls) -> tuple | None:
        """``(y_pred, y_true, expected_value)``: a small case worked out by hand, which a conformance check compares."""
        return None

    @abstractmethod
    def per_sample(self, y_pred: np.ndarray, y_true: np.ndarray) -> np.ndarray:
        """Return the metric for each sample, shape ``y_pred.shape[:-1]``."""

    @staticmethod
    def class_ids(y_pred: np.ndarray, y_true: np.ndarray, owner: str) -> np.ndarray:
        """``y_true`` as integer class ids of shape ``y_pred.shape[:-1]``: the argmax of one-hot rows, or the ids given, checked."""
        return target_class_ids(y_true, y_pred, owner)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


register_kind("metric", "minikeras.metrics", Metric)
