"""The Layer protocol: a differentiable map over batch-first arrays, with its own weights."""

from __future__ import annotations

import inspect
import warnings
from abc import ABC, abstractmethod
from typing import Any

import numpy as np

from . import _ownership, noise
from ._config import Plugin
from .activation import Activation, ElementwiseActivation, derives_from_output
from .arguments import as_shape
from .backend import standardize_dtype
from .registry import get, register_kind
from .weights import Weights

#: Class attributes of the contract before the engine derived them; see ``Layer.__init_subclass__``.
_RETIRED_FLAGS = {
    "activation_in_place": "the core now sees for itself when an activation may overwrite call()'s output",
    "need_input_grad": "accept need_input_grad=True as an argument of call_backward instead",
}

class Layer(Weights, Plugin, ABC):
    """A layer maps ``X`` of shape ``(batch, *input_shape)`` to ``(batch, *output_shape)``.

    A layer is built as soon as its input shape is known: :class:`~minikeras_core.Sequential`
    calls ``build(input_shape)`` at ``add()`` with the previous layer's output shape (the first
    layer takes it from ``input_size``). Shapes never include the batch axis.

    Implement:

    - ``compute_output_shape(input_shape)``: the output shape, or a ``ValueError`` naming the
      layer when it cannot follow an input of that shape.
    - ``create_weights(input_shape)`` (optional): call ``add_weight`` once per array, in
      Keras's order (Dense: ``kernel`` of shape ``(in, units)``, then ``bias`` of ``(units,)``).
      Read weights as ``self.params[name]`` each time: the model may move them into one buffer.
    - ``call(X, training)``: the output before the activation, ``Z``. Keep what
      ``call_backward`` needs (as attributes) when ``training`` is true.
    - ``call_backward(grad)``: given ``dL/dZ``, write each weight's gradient into
      ``self.grads[name]`` in place (``self.grads[name][...] = ...``) and return ``dL/dX``.

    The base class checks input shapes and applies the optional ``activation``
    (``Y = activation(Z)``) and its vector-Jacobian product, in one place for every layer.

    Optional speed-ups, each checked by the conformance suite:

    - ``call_backward(grad, need_input_grad=True)``: accept the argument, and skip computing
      ``dL/dX`` (returning ``None``) when it is false; the model's first layer gets false.
    - ``parallel_training = False``: the layer needs the whole batch at once (batch statistics)
      or one thread (module-level state): ``fit`` runs it once per batch on the calling thread,
      the layers around it still in parts. ``parallel_inference = False`` keeps prediction on
      one thread. Otherwise ``fit`` and ``predict`` may run parts of a batch at once through
      copies of the layer (``replica()``: deep copies sharing only the weights).
    """

    #: Whether ``fit`` may train parts of a batch at once through replicas; if not, the layer sees whole batches.
    parallel_training = True

    #: Whether several blocks of samples may go through ``forward(X, training=False)`` at once.
    parallel_inference = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for flag, why in _RETIRED_FLAGS.items():
            if flag in cls.__dict__:
                warnings.warn(f"{cls.__qualname__}.{flag} is deprecated and ignored: {why}", DeprecationWarning, stacklevel=2)
        cls._backward_takes_flag = "need_input_grad" in _parameters(cls.call_backward)
        cls._call_takes_mask = "mask" in _parameters(cls.call)
        cls._forward_takes_mask = "mask" in _parameters(cls.forward)

    #: Read by plugins written before ``need_input_grad`` became an argument of ``call_backward``; always true now.
    need_input_grad = True

    def __init__(
        self,
        *,
        activation: Any = None,
        input_size: tuple | None = None,
        name: str | None = None,
        dtype: Any = None,
        input_shape: tuple | None = None,
        trainable: bool = True,
    ) -> None:
        owner = type(self).__name__
        self.trainable = bool(trainable)
        self.activation: Activation | None = None if activation is None else get("activation", activation)
        if input_shape is not None:  # Keras's name for the seed's input_size: one sample's shape
            shape = as_shape(input_shape, "input_shape", owner)
            if input_size is not None and as_shape(input_size, "input_size", owner) != shape:
                raise ValueError(f"{owner}: input_size={input_size!r} and input_shape={input_shape!r} disagree; give one")
            input_size = shape
        self.input_size = None if input_size is None else as_shape(input_size, "input_size", owner)
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
        input_shape = as_shape(input_shape, "input_shape", self._label)
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

    # -- running ------------------------------------------------------------------------------
    @abstractmethod
    def call(self, X: np.ndarray, training: bool = False) -> np.ndarray:
        """Return the output before the activation for a batch ``X``."""

    @abstractmethod
    def call_backward(self, grad: np.ndarray) -> np.ndarray:
        """Given ``dL/dZ`` (``Z`` being ``call``'s output), fill ``self.grads`` and return ``dL/dX``."""

    def forward(self, X: np.ndarray, training: bool = False, mask: np.ndarray | None = None) -> np.ndarray:
        """Return the layer's output ``activation(call(X))`` for a batch ``X`` of shape ``(batch, *input_shape)``.

        ``mask`` (booleans, one per sample and time step, from an ``Embedding(mask_zero=True)``
        say) reaches ``call`` when it accepts a ``mask`` argument; other layers ignore it.
        """
        if not self.built:
            self.build(X.shape[1:] if self.input_size is None else None)
        self.check_input(X)
        Z = self.call(X, training, mask=mask) if self._call_takes_mask else self.call(X, training)
        return Z if self.activation is None else self._activate(X, Z, training)

    def compute_mask(self, X: np.ndarray, mask: np.ndarray | None) -> np.ndarray | None:
        """The mask for the next layer: by default the incoming one while the output keeps the input's rank and
        time steps (a Dense on sequences), ``None`` otherwise (Flatten, pooling, a recurrent layer's last state).

        Override to make a mask (``Embedding``: ``X != 0``) or to say what happens to it.
        """
        if mask is None:
            return None
        steps = mask.ndim - 1  # the axes after the batch axis that the mask covers
        keeps = len(self.output_shape) == len(self.input_shape) and self.output_shape[:steps] == self.input_shape[:steps]
        return mask if keeps else None

    def _activate(self, X: np.ndarray, Z: np.ndarray, training: bool) -> np.ndarray:
        """``Y = activation(Z)``, keeping what the activation's backward needs when training.

        An element-wise activation overwrites a large ``Z`` (``eval_inplace``) when nothing else
        can see ``Z``: it is a writeable array sharing no memory with ``X``, the weights, or any
        array the layer holds. While training that also needs a derivative from the output alone,
        and then only ``Y`` is kept: one output-sized array less to write and keep.
        """
        activation = self.activation
        in_place = (isinstance(activation, ElementwiseActivation) and np.size(Z) >= _ownership.MIN_IN_PLACE_SIZE
                    and _ownership.owns_output(self, X, Z))
        if not training:
            return activation.eval_inplace(Z) if in_place else activation(Z)
        if in_place and derives_from_output(activation):
            self._Z, self._Y = None, activation.eval_inplace(Z)
            return self._Y
        self._Z, self._Y = Z, activation(Z)
        return self._Y

    def backward(self, grad_out: np.ndarray, *, need_input_grad: bool = True, through_activation: bool = True) -> np.ndarray | None:
        """Return ``dL/dX`` for the last ``forward(X, training=True)``, keeping weight gradients in ``grads``.

        ``need_input_grad=False`` says the caller will not use ``dL/dX`` (the model's first
        layer, whose input is the data): a layer that accepts the argument may skip it, and
        ``None`` is returned. ``through_activation=False`` takes ``grad_out`` as the gradient
        before the activation already (a loss fused with the activation, such as softmax with
        cross-entropy). The activation's ``Z`` and ``Y`` are released here, so that during a
        model's backward pass they are gone before earlier layers' gradients are computed.
        """
        if self.activation is not None:
            Z, Y = self._Z, self._Y
            self._Z = self._Y = None
            if through_activation:
                if Z is None and Y is None:
                    raise RuntimeError(f"{self._label}: backward() needs a forward(X, training=True) first (each backward uses up its forward)")
                grad_out = self.activation.backward(Z, grad_out, Y=Y)
        if self._backward_takes_flag:
            grad_in = self.call_backward(grad_out, need_input_grad=need_input_grad)
        else:
            grad_in = self.call_backward(grad_out)
        return grad_in if need_input_grad else None

    def random_uniform(self, shape: tuple, seed: int | None = None) -> np.ndarray:
        """Uniform numbers in ``[0, 1)`` of ``shape`` (batch axis first), for a layer that is random while training.

        Inside ``fit`` they are keyed by the step and the layer's place (see :mod:`minikeras_core.noise`):
        the same however a batch is cut into parts, and for a seeded fit run twice. Used on its
        own a layer has a fixed key, so repeated calls agree (as finite differences need).
        ``seed`` (a layer's own, as Keras's ``Dropout(seed=)``) is folded into the key.
        """
        context = getattr(self, "_noise", None)
        if context is None:
            if getattr(self, "_noise_key", None) is None:
                rng = getattr(self, "_rng", None) or np.random.default_rng()
                self._noise_key = int(rng.integers(2**63))
            context = (self._noise_key, 0, 0)
        return noise.uniform(shape, *context, seed=seed)

    def share_noise(self, inner: Layer, salt: int = 0) -> None:
        """Let a layer this one wraps (Bidirectional's two) draw its random numbers at this layer's place in the
        step, from its own stream (``salt`` 0, or another number for an independent one). A no-op outside ``fit``."""
        context = getattr(self, "_noise", None)
        if context is not None:
            inner._noise = (context[0] ^ salt, *context[1:])

    def check_input(self, X: np.ndarray) -> None:
        """Raise a ``ValueError`` naming the layer when ``X`` is not ``(batch, *input_shape)``."""
        if not isinstance(X, np.ndarray):
            raise TypeError(f"{self._label}: expected a numpy array, got {type(X).__name__}")
        if X.shape[1:] != self.input_shape:
            raise ValueError(
                f"{self._label}: expected input of shape (batch, {', '.join(map(str, self.input_shape))}), got {X.shape}"
            )

    # -- config -----------------------------------------------------------------------------------
    def get_config(self) -> dict:
        """Return the constructor arguments (with the layer's name), JSON-ready."""
        config = super().get_config()
        if self.name is not None:
            config["name"] = self.name
        if not self.trainable:  # frozen after it was made, as Keras records it
            config["trainable"] = False
        return config

    @property
    def _label(self) -> str:
        return f"{type(self).__name__} layer {self.name!r}" if self.name else f"{type(self).__name__} layer"


def _parameters(function: Any) -> Any:
    try:
        return inspect.signature(function).parameters
    except (TypeError, ValueError):
        return {}


register_kind("layer", "minikeras.layers", Layer)
