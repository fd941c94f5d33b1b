"""The Layer protocol: a differentiable map over batch-first arrays, with its own weights."""

from __future__ import annotations

import copy
from abc import ABC, abstractmethod
from typing import Any

import numpy as np

from . import initializers
from ._config import Plugin
from .activation import Activation, ElementwiseActivation
from .backend import standardize_dtype


class Layer(Plugin, ABC):
    """A layer maps ``X`` of shape ``(batch, *input_shape)`` to ``(batch, *output_shape)``.

    A layer is built as soon as its input shape is known: :class:`~minikeras_core.Sequential`
    calls ``build(input_shape)`` at ``add()`` with the previous layer's output shape (the first
    layer takes it from ``input_size``). Shapes never include the batch axis.

    Implement:

    - ``compute_output_shape(input_shape)``: the output shape, or a ``ValueError`` naming the
      layer when it cannot follow an input of that shape.
    - ``create_weights(input_shape)`` (optional): call ``add_weight`` once per array, in
      Keras's order (Dense: ``kernel`` of shape ``(in, units)``, then ``bias`` of ``(units,)``).
      Read weights as ``self.params[name]`` each time rather than keeping the array in an
      attribute: the model may move them into one shared buffer after building.
    - ``call(X, training)``: the output before the activation, ``Z``. Keep what ``call_backward``
      needs when ``training`` is true.
    - ``call_backward(grad_Z)``: return ``dL/dX`` and write each weight's gradient into
      ``self.grads[name]`` in place (``self.grads[name][...] = ...``), so that optimizers and
      flat parameter buffers see it. When ``self.need_input_grad`` is false the caller will not
      use ``dL/dX`` (the model clears it on its first layer while training, whose input is the
      data): a layer may then skip computing it and return ``None``; it must still fill ``grads``.

    The base class checks input shapes, applies the optional ``activation`` after ``call``
    (``Y = activation(Z)``) and its vector-Jacobian product before ``call_backward``.

    ``forward(X, training=False)`` must leave the layer unchanged and treat samples
    independently: ``Sequential.predict`` runs blocks of samples through the layers on several
    threads at once. A layer that cannot allow that sets ``parallel_inference = False``.

    Training may likewise cut a batch into parts that run on threads at once, one part through
    the layer and the others through its replicas (``replica()``: a shallow copy sharing
    ``params`` and the activation, with its own ``grads``). So ``forward``/``backward`` keep
    their caches in attributes they assign (``self._X = X``), never in a container shared with
    the original (a dict or buffer made in ``__init__``) nor in module state. A layer that
    cannot allow that (a shared random generator, say) sets ``parallel_training = False``; the
    conformance check ``layer_replica_trains_independently`` tests it.
    """

    #: Whether ``backward`` must return ``dL/dX``; see ``call_backward``.
    need_input_grad = True

    #: Whether several blocks of samples may go through ``forward(X, training=False)`` at once,
    #: on different threads (see the class docstring).
    parallel_inference = True

    #: Whether ``call`` returns a new array that the layer does not keep, so that an element-wise
    #: activation may overwrite it (see ``forward``). Off by default: a ``call`` that returns a
    #: view of its input, or keeps ``Z`` for ``call_backward``, must not have it overwritten.
    activation_in_place = False

    #: Whether ``replica()`` copies may train other parts of a batch on other threads (see the class docstring).
    parallel_training = True

    def __init__(
        self,
        *,
        activation: Any = None,
        input_size: tuple | None = None,
        name: str | None = None,
        dtype: Any = None,
    ) -> None:
        from .registry import get  # deferred: the registry imports this module

        self.activation: Activation | None = None if activation is None else get("activation", activation)
        self.input_size = None if input_size is None else _as_shape(input_size, "input_size", type(self).__name__)
        self.name = name
        self.dtype = None if dtype is None else standardize_dtype(dtype)
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.input_shape: tuple | None = None
        self.output_shape: tuple | None = None
        self.built = False
        self._Z: np.ndarray | None = None
        self._Y: np.ndarray | None = None

    # -- building -----------------------------------------------------------------------------
    @abstractmethod
    def compute_output_shape(self, input_shape: tuple) -> tuple:
        """Return the output shape (without batch axis) for ``input_shape``; raise ``ValueError`` if invalid."""

    def create_weights(self, input_shape: tuple) -> None:
        """Create the weights with ``add_weight``; layers without weights need not override this."""

    def build(self, input_shape: tuple | None = None, *, dtype: Any = None, rng: np.random.Generator | None = None) -> Layer:
        """Fix the input shape, create the weights, and compute ``output_shape``; returns ``self``."""
        if input_shape is None:
            input_shape = self.input_size
        if input_shape is None:
            raise ValueError(f"{self._label}: the input shape is unknown; give input_size=(...) to the first layer")
        input_shape = _as_shape(input_shape, "input_shape", self._label)
        if self.input_size is not None and input_shape != self.input_size:
            raise ValueError(f"{self._label}: input_size is {self.input_size} but the previous layer outputs {input_shape}")
        if dtype is not None or self.dtype is None:
            self.dtype = standardize_dtype(dtype if dtype is not None else self.dtype)
        self._rng = rng if rng is not None else np.random.default_rng()
        self.output_shape = tuple(int(s) for s in self.compute_output_shape(input_shape))
        self.input_shape = input_shape
        self.params, self.grads = {}, {}
        self.create_weights(input_shape)
        self.built = True
        return self

    def add_weight(self, name: str, shape: tuple, initializer: Any = "glorot_uniform") -> np.ndarray:
        """Create a weight (and its zeroed gradient buffer) and return it; call from ``create_weights``."""
        init = initializers.get_initializer(initializer)
        value = np.ascontiguousarray(init(tuple(shape), self._rng, self.dtype), dtype=self.dtype)
        self.params[name] = value
        self.grads[name] = np.zeros_like(value)
        return value

    # -- running ------------------------------------------------------------------------------
    @abstractmethod
    def call(self, X: np.ndarray, training: bool = False) -> np.ndarray:
        """Return the output before the activation for a batch ``X``."""

    @abstractmethod
    def call_backward(self, grad: np.ndarray) -> np.ndarray:
        """Given ``dL/dZ`` (``Z`` being ``call``'s output), fill ``self.grads`` and return ``dL/dX``."""

    def forward(self, X: np.ndarray, training: bool = False) -> np.ndarray:
        """Return the layer's output for a batch ``X`` of shape ``(batch, *input_shape)``.

        With ``activation_in_place`` and an element-wise activation, ``Y`` overwrites ``Z``
        (``eval_inplace``) when predicting, and also when training if the activation's
        derivative comes from ``Y`` alone; training then keeps ``Y`` only.
        """
        if not self.built:
            self.build(X.shape[1:] if self.input_size is None else None)
        self.check_input(X)
        Z = self.call(X, training)
        activation = self.activation
        if activation is None:
            return Z
        if self.activation_in_place and isinstance(activation, ElementwiseActivation):
            if not training:
                return activation.eval_inplace(Z)
            if not activation.derivative_uses_input:
                self._Z, self._Y = None, activation.eval_inplace(Z)
                return self._Y
        Y = activation(Z)
        if training:
            self._Z, self._Y = Z, Y
        return Y

    def backward(self, grad_out: np.ndarray, *, through_activation: bool = True) -> np.ndarray:
        """Return ``dL/dX`` for the last ``forward(X, training=True)``, keeping weight gradients in ``grads``.

        ``through_activation=False`` takes ``grad_out`` as the gradient before the activation
        already (a loss that fuses with the activation, such as softmax with cross-entropy).
        The activation's ``Z`` and ``Y`` are released here, so that during a model's backward
        pass they are gone before the earlier layers' gradients are computed.
        """
        if self.activation is not None:
            Z, Y = self._Z, self._Y
            self._Z = self._Y = None
            if through_activation:
                if Z is None and Y is None:
                    raise RuntimeError(f"{self._label}: backward() needs a forward(X, training=True) first (each backward uses up its forward)")
                grad_out = self.activation.backward(Z, grad_out, Y=Y)
        return self.call_backward(grad_out)

    def check_input(self, X: np.ndarray) -> None:
        """Raise a ``ValueError`` naming the layer when ``X`` is not ``(batch, *input_shape)``."""
        if not isinstance(X, np.ndarray):
            raise TypeError(f"{self._label}: expected a numpy array, got {type(X).__name__}")
        if X.shape[1:] != self.input_shape:
            raise ValueError(
                f"{self._label}: expected input of shape (batch, {', '.join(map(str, self.input_shape))}), got {X.shape}"
            )

    def replica(self) -> Layer:
        """A shallow copy for training another part of a batch at once: same weights, its own zeroed ``grads``.

        Everything else is shared with this layer (the activation, settings) or replaced as the
        replica runs (caches it assigns). Override to give a replica its own copy of any other
        mutable state that ``forward``/``backward`` change.
        """
        clone = copy.copy(self)
        clone.grads = {name: np.zeros_like(grad) for name, grad in self.grads.items()}
        clone._Z = clone._Y = None
        return clone

    # -- weights and config -------------------------------------------------------------------
    def count_params(self) -> int:
        """Return the number of scalar weights."""
        return int(sum(p.size for p in self.params.values()))

    def get_weights(self) -> list[np.ndarray]:
        """Return copies of the weights, in Keras's order and layout."""
        return [p.copy() for p in self.params.values()]

    def set_weights(self, weights: list[np.ndarray]) -> None:
        """Copy ``weights`` (as ``get_weights`` returns them) into the layer, in place."""
        weights = list(weights)
        if len(weights) != len(self.params):
            raise ValueError(f"{self._label}: expected {len(self.params)} weight arrays, got {len(weights)}")
        for (key, param), value in zip(self.params.items(), weights):
            value = np.asarray(value)
            if value.shape != param.shape:
                raise ValueError(f"{self._label}: weight {key!r} has shape {param.shape}, got {value.shape}")
            param[...] = value

    def get_config(self) -> dict:
        """Return the constructor arguments (with the layer's name), JSON-ready."""
        config = super().get_config()
        if self.name is not None:
            config["name"] = self.name
        return config

    @property
    def _label(self) -> str:
        return f"{type(self).__name__} layer {self.name!r}" if self.name else f"{type(self).__name__} layer"


def _as_shape(shape: Any, argument: str, owner: str) -> tuple:
    if isinstance(shape, (int, np.integer)):
        shape = (shape,)
    try:
        result = tuple(int(s) for s in shape)
    except (TypeError, ValueError):
        raise ValueError(f"{owner}: {argument} must be a tuple of positive ints, got {shape!r}") from None
    if any(s <= 0 for s in result) or any(float(s) != float(t) for s, t in zip(result, shape)):
        raise ValueError(f"{owner}: {argument} must be a tuple of positive ints, got {shape!r}")
    return result
