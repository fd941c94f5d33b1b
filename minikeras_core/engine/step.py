"""One training step as plain functions of the layers, the loss and one batch.

``forward`` runs the layers in order; ``backward`` turns the loss into the last layer's output
gradient and walks the layers back, filling each layer's ``grads``; ``train_step`` is the two.
The step never applies the update: the trainer does that once every part of a batch is done.
"""

from __future__ import annotations

import numpy as np

from ..layer import Layer
from ..loss import Loss


def forward(layers: list[Layer], X: np.ndarray, training: bool = False, noise: tuple[int, int] | None = None,
            first_index: int = 0) -> np.ndarray:
    """The output of ``layers`` for the batch ``X``; with ``training`` each layer keeps what its backward needs.

    ``noise`` is ``(key, first_row)``: the step's random key and where ``X`` starts in its
    batch, from which random layers draw (``Layer.random_uniform``), the same numbers however
    the batch is cut into parts. A mask a layer makes (``compute_mask``) goes to the next ones.
    ``first_index`` is the first layer's place in the model (for a stretch of its layers).
    """
    mask = None
    for index, layer in enumerate(layers, first_index):
        if noise is not None:
            layer._noise = (noise[0], index, noise[1])
        out = layer.forward(X, training) if mask is None or not layer._forward_takes_mask else layer.forward(X, training, mask=mask)
        mask = layer.compute_mask(X, mask)
        X = out
    return X


def output_gradient(last: Layer, loss: Loss, y_pred: np.ndarray, y_true: np.ndarray) -> tuple[np.ndarray, bool]:
    """``(gradient, fused)``: the gradient the last layer's backward starts from, by the one fusion rule.

    When the loss has a shortcut through the last layer's activation (``Loss.fused_grad``, such as
    softmax with cross-entropy: ``p - y``), the gradient is taken straight with respect to the
    activation's input (``fused`` true): exact even where the activation saturates. Otherwise
    it is ``dL/dy_pred`` and the layer goes back through its activation as usual.
    """
    if last.activation is not None and not _overrides_backward(last):
        fused = loss.fused_grad(last.activation, y_pred, y_true)
        if fused is not None:
            return fused, True
    return loss.grad_input(y_pred, y_true), False


def backward(layers: list[Layer], loss: Loss, y_pred: np.ndarray, y_true: np.ndarray, scale: float = 1.0) -> None:
    """Fill every layer's ``grads`` with the gradient of ``scale`` times the mean loss of ``y_pred`` against ``y_true``.

    ``scale`` lets a part of a batch contribute its share: ``n_part / n_batch``. The first
    layer is told that nobody needs the gradient of the data (``need_input_grad=False``).
    """
    grad, fused = output_gradient(layers[-1], loss, y_pred, y_true)
    backward_from(layers, grad * scale if scale != 1.0 else grad, fused, starts_model=True)


def backward_from(layers: list[Layer], grad: np.ndarray, fused: bool, starts_model: bool) -> np.ndarray | None:
    """Walk ``layers`` back from ``grad``, the gradient of their last output (of its activation's input when ``fused``).

    Returns the gradient of their input, which nobody needs when they start the model (``starts_model``).
    """
    first, last = layers[0], layers[-1]
    for layer in reversed(layers):
        if _overrides_backward(layer):  # written before backward took these arguments
            grad = layer.backward(grad)
        else:
            grad = layer.backward(grad, need_input_grad=not (starts_model and layer is first),
                                  through_activation=not (fused and layer is last))
    return grad


def train_step(layers: list[Layer], loss: Loss, X: np.ndarray, y: np.ndarray, scale: float = 1.0,
               noise: tuple[int, int] | None = None) -> np.ndarray:
    """Forward ``X`` in training mode and back-propagate the loss against ``y``; returns the predictions."""
    y_pred = forward(layers, X, training=True, noise=noise)
    backward(layers, loss, y_pred, y, scale)
    return y_pred


def _overrides_backward(layer: Layer) -> bool:
    return type(layer).backward is not Layer.backward
