"""The Activation protocol: a function applied to a layer's output, feature axis last."""

from __future__ import annotations

import warnings
from abc import ABC, abstractmethod

import numpy as np

from ._config import Plugin
from .registry import register_kind


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
    keeps no state between calls: ``fit`` and ``predict`` may call one instance from several
    threads at once.
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

    Optional speed-ups, each a method to override (the conformance suite checks each one):

    - ``derivative_from_output(Y)``: ``g'`` computed from the output alone (sigmoid ``Y (1 - Y)``,
      tanh ``1 - Y^2``, ReLU ``Y > 0``). Overriding it is the declaration: layers may then apply
      the activation in place of their pre-activation output while training and keep only ``Y``.
    - ``eval_inplace(Z)``: ``eval`` written into ``Z`` (``np.maximum(Z, 0, out=Z)``).
    """

    @abstractmethod
    def derivative(self, X: np.ndarray, Y: np.ndarray) -> np.ndarray:
        """Return ``g'(X)`` entry-wise; ``Y`` is ``eval(X)``."""

    def derivative_from_output(self, Y: np.ndarray) -> np.ndarray:
        """Return ``g'(X)`` entry-wise from ``Y = eval(X)`` alone (optional: override when ``g'`` is a function of ``g``)."""
        raise NotImplementedError(f"{type(self).__name__} computes its derivative from the input")

    def eval_inplace(self, Z: np.ndarray) -> np.ndarray:
        """Overwrite ``Z`` with ``eval(Z)`` and return it (optional; the numbers must equal ``eval``'s).

        For a layer whose ``Z`` is its own temporary: an ``out=`` form such as
        ``np.maximum(Z, 0, out=Z)`` saves allocating and copying a second output-sized array.
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
        """``grad_out * g'``; with ``X=None`` (and ``Y`` given) only for an activation with ``derivative_from_output``."""
        if X is None:
            return grad_out * self.derivative_from_output(Y)
        if Y is None:
            Y = self.eval(X)
        return grad_out * self.derivative(X, Y)

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        # The contract before derivative_from_output: a class attribute derivative_uses_input = False.
        if cls.__dict__.get("derivative_uses_input") is False and "derivative_from_output" not in cls.__dict__:
            warnings.warn(
                f"{cls.__qualname__}: derivative_uses_input = False is deprecated; override "
                "derivative_from_output(Y) instead (honoured for now as derivative(None, Y))",
                DeprecationWarning,
                stacklevel=2,
            )
            cls.derivative_from_output = lambda self, Y: self.derivative(None, Y)


def derives_from_output(activation: Activation | None) -> bool:
    """Whether ``activation``'s gradient can be computed from its output alone (it overrides ``derivative_from_output``)."""
    return (
        isinstance(activation, ElementwiseActivation)
        and type(activation).derivative_from_output is not ElementwiseActivation.derivative_from_output
    )


register_kind("activation", "minikeras.activations", Activation)
