"""The Activation protocol: a function applied to a layer's output, feature axis last."""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np

from ._config import Plugin


class Activation(Plugin, ABC):
    """An activation ``f`` maps an input ``X`` of shape ``(batch, n)`` to an output of the same shape.

    Implement two methods:

    - ``eval(X)``: the output ``f(X)``.
    - ``grad_input(X)``: the Jacobian per sample, shape ``(batch, n, n)``, with
      ``J[b, i, j] = d f_i(X[b]) / d X[b, j]``.

    Training uses the vector-Jacobian product ``backward(X, grad_out)``:
    ``grad_in[b, j] = sum_i grad_out[b, i] * J[b, i, j]``. The base class derives it from
    ``grad_input``, treating the last axis as the features for inputs of any rank (so a 2-D
    implementation also serves convolutional and recurrent layers). Element-wise activations
    should subclass :class:`ElementwiseActivation` instead, which gives an O(n) ``backward``.

    Inputs of float32 give float32 outputs; inputs are never modified in place. An activation
    keeps no state between calls: a layer and its replicas share one instance, which ``fit``
    and ``predict`` may call from several threads at once.
    """

    def __call__(self, X: np.ndarray) -> np.ndarray:
        return self.eval(X)

    @abstractmethod
    def eval(self, X: np.ndarray) -> np.ndarray:
        """Return ``f(X)``, same shape and dtype as ``X``."""

    @abstractmethod
    def grad_input(self, X: np.ndarray) -> np.ndarray:
        """Return the per-sample Jacobian, shape ``(batch, n, n)`` for ``X`` of shape ``(batch, n)``."""

    def backward(self, X: np.ndarray, grad_out: np.ndarray, Y: np.ndarray | None = None) -> np.ndarray:
        """Return ``grad_out`` times the Jacobian at ``X`` (the gradient with respect to ``X``).

        ``Y`` is ``eval(X)`` when the caller already has it; implementations may use it to save work.
        """
        features = X.shape[-1]
        jacobian = self.grad_input(X.reshape(-1, features))
        flat_grad = grad_out.reshape(-1, features)
        return np.einsum("bi,bij->bj", flat_grad, jacobian).reshape(X.shape)


class ElementwiseActivation(Activation):
    """An activation applied to each entry on its own: ``f(X)[...] = g(X[...])``.

    Implement ``eval(X)`` and ``derivative(X, Y)``, the entry-wise ``g'(X)`` (``Y = eval(X)`` is
    given so that, for example, the sigmoid can use ``Y * (1 - Y)``). The Jacobian is then
    diagonal and ``backward`` is ``grad_out * g'(X)``.

    When ``g'`` can be computed from the output alone (sigmoid ``Y (1 - Y)``, tanh ``1 - Y^2``,
    ReLU ``Y > 0``), set ``derivative_uses_input = False``: ``derivative`` and ``backward`` then
    accept ``X=None`` with ``Y`` given, and a layer may apply the activation in place of its
    pre-activation output while training (``eval_inplace``), keeping only ``Y``: one
    output-sized array less to write and keep per layer.
    """

    #: Whether ``derivative(X, Y)`` and ``backward(X, grad_out, Y)`` need ``X``; see the class docstring.
    derivative_uses_input = True

    @abstractmethod
    def derivative(self, X: np.ndarray, Y: np.ndarray) -> np.ndarray:
        """Return ``g'(X)`` entry-wise; ``Y`` is ``eval(X)``."""

    def eval_inplace(self, Z: np.ndarray) -> np.ndarray:
        """Overwrite ``Z`` with ``eval(Z)`` and return it (optional; the numbers must equal ``eval``'s).

        For a layer whose ``Z`` is its own temporary (prediction, say): an ``out=`` form such
        as ``np.maximum(Z, 0, out=Z)`` saves allocating and copying a second output-sized array.
        The default evaluates into a new array and copies it back.
        """
        Z[...] = self.eval(Z)
        return Z

    def grad_input(self, X: np.ndarray) -> np.ndarray:
        diagonal = self.derivative(X, self.eval(X))
        jacobian = np.zeros(X.shape + X.shape[-1:], dtype=diagonal.dtype)
        index = np.arange(X.shape[-1])
        jacobian[..., index, index] = diagonal
        return jacobian

    def backward(self, X: np.ndarray | None, grad_out: np.ndarray, Y: np.ndarray | None = None) -> np.ndarray:
        if Y is None:
            Y = self.eval(X)
        return grad_out * self.derivative(X, Y)
