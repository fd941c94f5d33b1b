"""The text of the files ``minikeras new-plugin`` writes, as ``str.format`` templates (see :mod:`.scaffold`).

Fields: ``name``, ``kind``, ``cls``, ``dist``, ``package``, ``group``; literal braces are doubled.
The other files of the package are in :mod:`._scaffold_package`.
"""

_ACTIVATION = '''"""The {name} activation, a Mini-Keras plugin."""

import numpy as np

from minikeras_core import ElementwiseActivation


class {cls}(ElementwiseActivation):
    """TODO: the math in one line, for example ``swish(x) = x * sigmoid(x)``.

    An element-wise activation implements ``eval`` and ``derivative``; the base class derives the
    Jacobian ``grad_input`` (shape ``(batch, n, n)``) and the vector-Jacobian product ``backward``
    from them. (An activation that mixes features, such as softmax, subclasses
    ``minikeras_core.Activation`` and implements ``grad_input`` instead of ``derivative``.)

    Until you fill it in, this is the identity, so the package installs and passes the checks.
    """

    def eval(self, X: np.ndarray) -> np.ndarray:
        """Return ``f(X)`` entry by entry: ``X``'s shape and dtype (float32 stays float32); never change ``X``."""
        # TODO: your function, vectorized (no Python loop over entries).
        return X.copy()

    def derivative(self, X: np.ndarray, Y: np.ndarray) -> np.ndarray:
        """Return ``f'(X)`` entry by entry; ``Y`` is ``eval(X)``, given so you can reuse it."""
        # TODO: the derivative of your function; the checks compare it with finite differences.
        return np.ones_like(X)

    # Optional: when f' is a function of the output alone (sigmoid: Y * (1 - Y)), also define
    #     def derivative_from_output(self, Y): ...
    # so that layers may apply the activation in place while training (checked by the suite).
'''

_LAYER = '''"""The {name} layer, a Mini-Keras plugin."""

import numpy as np

from minikeras_core import Layer


class {cls}(Layer):
    """TODO: the math in one line. Until you fill it in: ``Y = X * scale``, one weight per feature.

    Arrays are batch-first: ``X`` has shape ``(batch, *input_shape)``; shapes given to and returned
    by ``compute_output_shape`` never include the batch axis. Constructor arguments of your own
    go before ``**kwargs``, which carries ``activation``, ``input_size``, ``name`` and ``dtype``
    to the base class; store them unchanged (``get_config`` records them all).
    """

    def __init__(self, scale_initializer="ones", **kwargs) -> None:
        super().__init__(**kwargs)
        self.scale_initializer = scale_initializer

    @classmethod
    def conformance_cases(cls) -> list[dict]:
        """Constructor arguments for the conformance checks; each includes ``input_size`` (one sample's shape)."""
        # TODO: a few small cases covering your arguments (and any input rank you support).
        return [{{"input_size": (4,)}}, {{"input_size": (3, 2), "activation": "tanh"}}]

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        """Return the output shape for ``input_shape``; raise ``ValueError`` naming the layer if it cannot follow it."""
        return input_shape

    def create_weights(self, input_shape: tuple) -> None:
        """Create each weight with ``self.add_weight(name, shape, initializer)``."""
        self.add_weight("scale", input_shape[-1:], self.scale_initializer)

    def call(self, X: np.ndarray, training: bool = False) -> np.ndarray:
        """Return ``Z``, the output before the activation, as a new array (never write into ``X``).

        When ``training``, keep what ``call_backward`` needs as attributes of the layer; if that
        includes ``Z``, keep ``Z`` in an attribute too (the core applies the activation in place
        over a ``Z`` no attribute refers to).
        """
        if training:
            self._X = X
        return X * self.params["scale"]

    def call_backward(self, grad: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        """Given ``dL/dZ``, write each weight's gradient into ``self.grads[name][...]`` and return ``dL/dX``.

        Never change ``grad``. ``need_input_grad`` is optional (drop it if you like): false for
        the model's first layer, where ``dL/dX`` may be skipped and ``None`` returned.
        """
        axes = tuple(range(grad.ndim - 1))
        self.grads["scale"][...] = np.sum(grad * self._X, axis=axes)
        if not need_input_grad:
            return None
        return grad * self.params["scale"]
'''

_LOSS = '''"""The {name} loss, a Mini-Keras plugin."""

import numpy as np

from minikeras_core import Loss


class {cls}(Loss):
    """TODO: the math in one line. Until you fill it in: ``mean((y_pred - y_true)^2)`` over the last axis.

    The base class checks ``y_true``'s shape, averages ``per_sample`` over samples (Keras's
    ``"sum_over_batch_size"``) and scales ``per_sample_grad`` to match. Optional: ``fused_grad``
    (see ``minikeras_core.Loss``) when the loss pairs with an activation, such as softmax.
    """

    @classmethod
    def hand_computed_case(cls):
        """A small case worked out by hand: ``(y_pred, y_true, expected_mean_loss)``."""
        # TODO: replace with a case of your loss that you computed yourself.
        y_pred = np.array([[0.5, 1.0], [0.0, 0.25]])
        y_true = np.array([[0.0, 1.0], [1.0, 0.25]])
        expected = ((0.25 + 0.0) / 2 + (1.0 + 0.0) / 2) / 2  # per sample: mean of squared errors
        return y_pred, y_true, expected

    def per_sample(self, y_pred: np.ndarray, y_true: np.ndarray) -> np.ndarray:
        """Return each sample's loss, reducing the last axis only: shape ``y_pred.shape[:-1]``."""
        # TODO: your loss; keep it finite for predictions of exactly 0 and 1.
        return np.mean((y_pred - y_true) ** 2, axis=-1)

    def per_sample_grad(self, y_pred: np.ndarray, y_true: np.ndarray) -> np.ndarray:
        """Return ``d per_sample / d y_pred`` entry by entry, shape and dtype of ``y_pred``."""
        # TODO: its gradient; the checks compare the mean's gradient with finite differences.
        return 2 * (y_pred - y_true) / y_pred.shape[-1]
'''

_OPTIMIZER = '''"""The {name} optimizer, a Mini-Keras plugin."""

import numpy as np

from minikeras_core import Optimizer


class {cls}(Optimizer):
    """TODO: the update rule in one line. Until you fill it in: ``w = w - lr * g``.

    ``update`` changes one weight in place; ``create_state`` makes that weight's state arrays
    (moments, accumulators). ``self.iterations`` is the step number, from 1.
    """

    def __init__(self, learning_rate: float = 0.01) -> None:
        super().__init__(learning_rate)

    def create_state(self, param: np.ndarray) -> dict:
        """Return this weight's state arrays, in its dtype, e.g. ``{{"m": np.zeros_like(param)}}``."""
        # TODO: your state, if any.
        return {{}}

    def update(self, param: np.ndarray, grad: np.ndarray, state: dict) -> None:
        """Change ``param`` in place (``param -= ...``), keeping its dtype; never rebind it."""
        # TODO: your rule.
        param -= self.learning_rate * grad
'''

_METRIC = '''"""The {name} metric, a Mini-Keras plugin."""

import numpy as np

from minikeras_core import Metric


class {cls}(Metric):
    """TODO: the math in one line. Until you fill it in: ``mean(|y_pred - y_true|)`` over the last axis.

    The base class turns integer class ids into one-hot rows, refuses targets of another shape and
    averages ``per_sample`` over samples; ``compile(metrics=["{name}"])`` reports it under its name.
    """

    direction = "down"  # TODO: "up" when larger is better, as for an accuracy (EarlyStopping reads it)

    @classmethod
    def hand_computed_case(cls):
        """A small case worked out by hand: ``(y_pred, y_true, expected_value)``."""
        # TODO: replace with a case of your metric that you computed yourself.
        y_pred = np.array([[0.5, 1.0], [0.0, 0.25]])
        y_true = np.array([[0.0, 1.0], [1.0, 0.25]])
        expected = ((0.5 + 0.0) / 2 + (1.0 + 0.0) / 2) / 2  # per sample: mean of absolute errors
        return y_pred, y_true, expected

    def per_sample(self, y_pred: np.ndarray, y_true: np.ndarray) -> np.ndarray:
        """Return each sample's value, reducing the last axis only: shape ``y_pred.shape[:-1]``."""
        # TODO: your metric.
        return np.mean(np.abs(y_pred - y_true), axis=-1)
'''

_INITIALIZER = '''"""The {name} initializer, a Mini-Keras plugin."""

import math

import numpy as np

from minikeras_core.initializers import RandomInitializer, compute_fans


class {cls}(RandomInitializer):
    """TODO: the formula in one line. Until you fill it in: normal draws with ``stddev = sqrt(scale / fan_in)``.

    Layers call it as ``init(shape, dtype=None, rng=None)``; the base class draws from the own
    ``seed`` when given (the same values every call), else from ``rng`` (the model's generator),
    and casts ``sample``'s float64 values to the dtype. Fans are Keras's: a Conv2D kernel
    ``(kh, kw, c_in, c_out)`` has ``fan_in = kh * kw * c_in``. (A deterministic initializer
    subclasses ``minikeras_core.initializers.Initializer`` instead, sets ``deterministic = True``
    and declares ``hand_computed_case`` in place of ``expected_statistics``.)
    """

    def __init__(self, scale: float = 1.0, seed=None) -> None:
        super().__init__(seed)  # keep seed=None last, as Keras's random initializers do
        self.scale = scale

    def sample(self, shape: tuple, rng: np.random.Generator) -> np.ndarray:
        """Return the values for ``shape`` as float64, drawn from ``rng`` only (never from np.random's global state)."""
        # TODO: your formula, vectorized.
        return rng.normal(0.0, self._stddev(shape), size=shape)

    def expected_statistics(self, shape: tuple) -> dict:
        """The mean and standard deviation of the draws for ``shape`` (and ``"min"``/``"max"`` when bounded)."""
        # TODO: from your formula; the checks compare them with about 20,000 draws.
        return {{"mean": 0.0, "std": self._stddev(shape)}}

    def _stddev(self, shape: tuple) -> float:
        fan_in, _ = compute_fans(shape)
        return math.sqrt(self.scale / max(1, fan_in))
'''

_STRATEGY = '''"""The {name} strategy, a Mini-Keras plugin."""

from typing import Any

import numpy as np

from minikeras_core import Strategy


class {cls}(Strategy):
    """TODO: how the processes talk, in one line. Until you fill it in: one process, every collective the identity.

    Every rank runs the same program, and the engine calls the collectives on every rank in the
    same order. ``all_reduce`` and ``broadcast`` write into the array they are given (the flat
    gradient buffer, a weight) and return None. The base class gives the rest: ``share`` (this
    rank's rows of a global batch), the ``on_gradients_ready`` hook that all-reduces the
    gradients before each update, and the checks that every rank has the same data and model.
    """

    def __init__(self) -> None:
        # TODO: join your process group here (keep it cheap: fit builds a strategy named by string each call).
        pass

    @property
    def rank(self) -> int:
        """This process's number, 0 .. size - 1 (rank 0 prints and writes files)."""
        return 0  # TODO

    @property
    def size(self) -> int:
        """How many processes take part."""
        return 1  # TODO

    def all_reduce(self, array: np.ndarray) -> None:
        """Replace ``array`` in place by its sum over all ranks."""
        # TODO: sum over your processes, e.g. array[...] = sum_over_ranks(array)

    def broadcast(self, array: np.ndarray, root: int = 0) -> None:
        """Overwrite ``array`` in place with rank ``root``'s."""
        # TODO

    def all_gather(self, array: np.ndarray) -> np.ndarray:
        """Every rank's rows (any number each) concatenated along axis 0 in rank order, on every rank."""
        return np.asarray(array)  # TODO

    def broadcast_object(self, value: Any, root: int = 0) -> Any:
        """Rank ``root``'s ``value`` (small: optimizer state, a generator's state), on every rank."""
        return value  # TODO

    def all_gather_object(self, value: Any) -> list:
        """``[value of rank 0, value of rank 1, ...]`` on every rank."""
        return [value]  # TODO

    def abort(self, error: BaseException) -> None:
        """End every rank at once (a rank that raised must never leave the others waiting in a collective)."""
        # TODO: e.g. your transport's abort; over one process the error simply propagates
'''

TEMPLATES = {"activation": _ACTIVATION, "layer": _LAYER, "loss": _LOSS, "optimizer": _OPTIMIZER, "metric": _METRIC,
             "initializer": _INITIALIZER, "strategy": _STRATEGY}
