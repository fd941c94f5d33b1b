"""The Loss protocol: a scalar measure of how far predictions are from targets."""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np

from ._config import Plugin
from .activation import Activation
from .registry import register_kind
from .targets import match_targets


class Loss(Plugin, ABC):
    """A loss compares ``y_pred`` and ``y_true``, both of shape ``(batch, ..., k)``.

    Implement two methods on targets already checked to have ``y_pred``'s shape:

    - ``per_sample(y_pred, y_true)``: the loss of each sample, reducing the last axis only
      (shape ``y_pred.shape[:-1]``); cross-entropy over classes sums it, binary cross-entropy
      averages it, as Keras does.
    - ``per_sample_grad(y_pred, y_true)``: ``d per_sample / d y_pred``, entry by entry, shape of ``y_pred``.

    The base class gives Keras's default reduction (``"sum_over_batch_size"``): ``__call__``
    returns the mean of ``per_sample`` over every remaining axis (samples, and time steps for
    sequences) and ``grad_input`` its gradient. Set ``accepts_class_ids = True`` for a
    categorical loss that also takes integer class ids of shape ``y_pred.shape[:-1]``, and
    ``target_range = (low, high)`` when targets outside that interval are a mistake (the model
    checks them before training: cross-entropies take probabilities, ``(0, 1)``).

    A loss keeps no state between calls: ``fit`` may compute the gradients of parts of a batch
    on several threads at once.
    """

    accepts_class_ids = False
    target_range: tuple[float, float] | None = None

    @classmethod
    def hand_computed_case(cls) -> tuple[np.ndarray, np.ndarray, float] | None:
        """A small fixed case worked out by hand: ``(y_pred, y_true, expected_mean_loss)``, or ``None``.

        ``loss_matches_hand_computed_case`` compares the loss (built with the first conformance
        case, or with no arguments) against it; a loss that declares none fails that check.
        """
        return None

    def __call__(self, y_pred: np.ndarray, y_true: np.ndarray) -> float:
        """Return the mean loss, a Python float."""
        y_true = self.prepare_targets(y_pred, y_true)
        per_sample = self.per_sample(y_pred, y_true)
        if np.size(per_sample) == 0:
            raise ValueError(f"{type(self).__name__}: y_pred has no samples (shape {np.shape(y_pred)}); expected at least one")
        # np.mean's own sum and division, without its Python-level wrapper (a tenth of a small model's loss)
        return float(np.add.reduce(per_sample, axis=None, dtype=np.float64)) / np.size(per_sample)

    def grad_input(self, y_pred: np.ndarray, y_true: np.ndarray) -> np.ndarray:
        """Return ``d mean_loss / d y_pred``, shape and dtype of ``y_pred``."""
        y_true = self.prepare_targets(y_pred, y_true)
        grad = self.per_sample_grad(y_pred, y_true)
        return (grad / (y_pred.size // y_pred.shape[-1])).astype(y_pred.dtype, copy=False)

    @abstractmethod
    def per_sample(self, y_pred: np.ndarray, y_true: np.ndarray) -> np.ndarray:
        """Return the loss per sample, shape ``y_pred.shape[:-1]``."""

    @abstractmethod
    def per_sample_grad(self, y_pred: np.ndarray, y_true: np.ndarray) -> np.ndarray:
        """Return the gradient of each sample's loss with respect to ``y_pred``."""

    def fused_grad(self, activation: Activation, y_pred: np.ndarray, y_true: np.ndarray) -> np.ndarray | None:
        """Return ``d mean_loss / d Z`` where ``y_pred = activation(Z)``, or ``None`` when there is no shortcut (optional).

        A loss that pairs with an activation (cross-entropy with softmax, binary cross-entropy
        with the sigmoid) returns the simple, saturation-proof form, such as
        ``(y_pred - y_true) / batch``; test the activation with
        ``minikeras_core.registry.is_registered_as(activation, "softmax")``. The training step
        uses it for the last layer's activation, and ``loss_fused_grad_matches_chain_rule``
        checks it against ``activation.backward(Z, grad_input(y_pred, y_true))``.
        """
        return None

    def prepare_targets(self, y_pred: np.ndarray, y_true: np.ndarray) -> np.ndarray:
        """``y_true`` with ``y_pred``'s shape and dtype, by the rules of :mod:`minikeras_core.targets`.

        Class ids become one-hot rows for losses that accept them, and targets of shape
        ``(batch,)`` for a single output unit gain that unit's axis.
        """
        return match_targets(y_true, np.asarray(y_pred), type(self).__name__, class_ids=self.accepts_class_ids)


register_kind("loss", "minikeras.losses", Loss)
