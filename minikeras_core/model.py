"""The Sequential model: a stack of layers trained by mini-batch gradient descent."""

from __future__ import annotations

from typing import Any

import numpy as np

from .backend import standardize_dtype
from .hooks import hookimpl, plugin_manager
from .layer import Layer
from .registry import get


class History:
    """The losses and metrics per epoch of one ``fit``: ``history.history["loss"]`` is a list per key."""

    def __init__(self) -> None:
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []

    @hookimpl
    def on_train_begin(self, model: Any, logs: dict) -> None:
        self.model = model

    @hookimpl
    def on_epoch_end(self, model: Any, epoch: int, logs: dict) -> None:
        self.epoch.append(epoch)
        for key, value in logs.items():
            self.history.setdefault(key, []).append(float(value))


class Sequential:
    """A linear stack of layers, used as in Keras.

    >>> model = Sequential(seed=0)
    >>> model.add("dense", units=8, activation="relu", input_size=(4,))
    >>> model.add("dense", units=3, activation="softmax")
    >>> model.compile("categorical_cross_entropy", optimizer="adam")

    ``dtype`` is the computation dtype (``minikeras_core.floatx()`` by default); ``seed`` makes
    weight initialisation and shuffling reproducible.
    """

    def __init__(self, layers: list | None = None, *, dtype: Any = None, seed: int | None = None, name: str | None = None) -> None:
        self.dtype = standardize_dtype(dtype)
        self.seed = seed
        self.name = name or "sequential"
        self.layers: list[Layer] = []
        self.loss = None
        self.optimizer = None
        self.metrics: list = []
        self.stop_training = False
        self._rng = np.random.default_rng(seed)
        self._flat: tuple[np.ndarray, np.ndarray] | None = None  # (weights, gradients) when flattened
        self._training_key = None
        for layer in layers or []:
            self.add(layer)

    # -- building -----------------------------------------------------------------------------
    def add(self, layer: Any, **kwargs: Any) -> Layer:
        """Append a layer given by registered name, class or instance (with constructor ``kwargs``); returns it.

        The layer is built at once from the previous layer's output shape, so a layer that
        cannot follow it fails here with an error naming both.
        """
        layer = get("layer", layer, **kwargs)
        if layer.name is None:
            layer.name = self._unique_name(type(layer).__name__)
        if self.layers:
            input_shape = self.layers[-1].output_shape
        elif layer.input_size is not None:
            input_shape = layer.input_size
        else:
            raise ValueError(f"{layer._label}: the first layer of a model needs input_size=(...) (the shape of one sample)")
        layer.build(input_shape, dtype=self.dtype, rng=self._rng)
        self.layers.append(layer)
        return layer

    def _unique_name(self, class_name: str) -> str:
        base = "".join("_" + c.lower() if c.isupper() else c for c in class_name).lstrip("_")
        taken = {layer.name for layer in self.layers}
        if base not in taken:
            return base
        index = 1
        while f"{base}_{index}" in taken:
            index += 1
        return f"{base}_{index}"

    @property
    def input_shape(self) -> tuple:
        self._require_layers()
        return self.layers[0].input_shape

    @property
    def output_shape(self) -> tuple:
        self._require_layers()
        return self.layers[-1].output_shape

    def count_params(self) -> int:
        """The number of scalar weights in every layer."""
        return sum(layer.count_params() for layer in self.layers)

    def summary(self, print_fn=print) -> None:
        """Print each layer's name, type, output shape and parameter count, then the total."""
        rows = [("Layer (type)", "Output Shape", "Param #")]
        for layer in self.layers:
            rows.append((f"{layer.name} ({type(layer).__name__})", str((None,) + layer.output_shape), f"{layer.count_params():,}"))
        widths = [max(len(r[i]) for r in rows) + 3 for i in range(3)]
        rule = "-" * sum(widths)
        lines = [f'Model: "{self.name}"', "=" * sum(widths)]
        for i, row in enumerate(rows):
            lines.append("".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
            lines.append("=" * sum(widths) if i == 0 else rule)
        lines[-1] = "=" * sum(widths)
        lines.append(f"Total params: {self.count_params():,}")
        print_fn("\n".join(lines))

    def compile(self, loss: Any, optimizer: Any = None, metrics: list | None = None) -> None:
        """Set the loss and optimizer (names, classes or instances; ``sgd`` when none is given)."""
        self.loss = get("loss", loss)
        self.optimizer = get("optimizer", optimizer if optimizer is not None else "sgd")
        self.metrics = list(metrics or [])

    # -- weights ------------------------------------------------------------------------------
    def _params(self) -> list[np.ndarray]:
        """The arrays the optimizer updates: every weight, or the one flat buffer holding them all."""
        if getattr(self, "_flat", None) is not None:
            return [self._flat[0]]
        return [p for layer in self.layers for p in layer.params.values()]

    def _grads(self) -> list[np.ndarray]:
        """The gradients matching ``_params()``."""
        if getattr(self, "_flat", None) is not None:
            return [self._flat[1]]
        return [g for layer in self.layers for g in layer.grads.values()]

    def _flat_intact(self) -> bool:
        """Whether every weight and gradient is still a view of the flat buffers (a deep copy or pickle makes copies)."""
        flat_params, flat_grads = self._flat
        return all(
            layer.params[name].base is flat_params and layer.grads[name].base is flat_grads
            for layer in self.layers
            for name in layer.params
        )

    def _prepare_training(self) -> None:
        """Set up the optimizer's view of the weights once per (layers, weights, optimizer) combination.

        An element-wise optimizer (``optimizer.elementwise``: each entry's update depends on that
        entry alone, as in SGD or Adam) gives the same result on one long vector as on each array,
        so the weights move into one contiguous buffer and the gradients into another, and each
        step makes one ``apply`` call over long vectors instead of one per array. Layers keep
        working unchanged: their ``params`` / ``grads`` entries become views into the buffers. The
        optimizer's state then has one slot, for the flat buffer (per-array state already built is
        concatenated into it, so training carries on exactly).
        """
        # Identity (not equality) of the optimizer, the layers and their weight dicts; holding them keeps ids unique.
        key = [self.optimizer, *self.layers, *(layer.params for layer in self.layers)]
        previous = getattr(self, "_training_key", None)
        if previous is not None and len(previous) == len(key) and all(a is b for a, b in zip(previous, key)):
            if self._flat is None or self._flat_intact():
                return
        self._training_key = key
        self._flat = None
        weights = [(layer, name) for layer in self.layers for name in layer.params]
        dtypes = {layer.params[name].dtype for layer, name in weights}
        if not getattr(self.optimizer, "elementwise", False) or not weights or len(dtypes) != 1:
            return
        dtype = dtypes.pop()
        total = sum(layer.params[name].size for layer, name in weights)
        flat_params, flat_grads = np.empty(total, dtype), np.zeros(total, dtype)
        offset = 0
        for layer, name in weights:
            param = layer.params[name]
            stop = offset + param.size
            view = flat_params[offset:stop].reshape(param.shape)
            view[...] = param
            layer.params[name] = view
            grad = flat_grads[offset:stop].reshape(param.shape)
            grad[...] = layer.grads[name]
            layer.grads[name] = grad
            offset = stop
        _flatten_optimizer_state(self.optimizer, [layer.params[name].shape for layer, name in weights])
        self._flat = (flat_params, flat_grads)

    def get_weights(self) -> list[np.ndarray]:
        """Copies of every layer's weights, layer by layer in Keras's order."""
        return [w for layer in self.layers for w in layer.get_weights()]

    def set_weights(self, weights: list[np.ndarray]) -> None:
        """Set every layer's weights from a list as ``get_weights`` returns it."""
        weights = list(weights)
        expected = sum(len(layer.params) for layer in self.layers)
        if len(weights) != expected:
            raise ValueError(f"{self.name}: expected {expected} weight arrays, got {len(weights)}")
        for layer in self.layers:
            count = len(layer.params)
            layer.set_weights(weights[:count])
            weights = weights[count:]

    # -- running ------------------------------------------------------------------------------
    def _forward(self, X: np.ndarray, training: bool) -> np.ndarray:
        for layer in self.layers:
            X = layer.forward(X, training)
        return X

    def _backward(self, y_pred: np.ndarray, y_true: np.ndarray) -> None:
        last, first = self.layers[-1], self.layers[0]
        fused = None
        if last.activation is not None and type(last).backward is Layer.backward:
            fused = self.loss.fused_grad(last.activation, y_pred, y_true)
        saved = first.need_input_grad
        first.need_input_grad = False  # dL/d(data) is never used: the first layer may skip computing it
        try:
            if fused is not None:
                grad = last.backward(fused, through_activation=False)
            else:
                grad = last.backward(self.loss.grad_input(y_pred, y_true))
            for layer in reversed(self.layers[:-1]):
                grad = layer.backward(grad)
        finally:
            first.need_input_grad = saved

    def fit(
        self,
        X: Any,
        y: Any,
        n_epochs: int | None = None,
        batch_size: int | None = 32,
        learning_rate: float | None = None,
        optimizer: Any = None,
        verbose: int = 1,
        shuffle: bool = True,
        seed: int | None = None,
        *,
        epochs: int | None = None,
        callbacks: list | None = None,
    ) -> History:
        """Train for ``n_epochs`` (Keras's ``epochs`` is accepted too) over mini-batches; returns a ``History``.

        ``learning_rate``, when given, sets the optimizer's rate; ``optimizer`` replaces the
        compiled one, otherwise the compiled optimizer (and its state) carries on.
        """
        self._require_compiled("fit")
        n_epochs = _epochs_argument(n_epochs, epochs)
        X, y = self._check_data(X, y, "fit")
        batch_size = _positive_int(batch_size if batch_size is not None else 32, "batch_size")
        if optimizer is not None:
            self.optimizer = get("optimizer", optimizer)
        if learning_rate is not None:
            self.optimizer.learning_rate = _positive_float(learning_rate, "learning_rate")
        rng = np.random.default_rng(seed) if seed is not None else self._rng
        history = History()
        manager = plugin_manager([history, *(callbacks or [])])
        hook = manager.hook
        self.stop_training = False
        n = len(X)
        hook.on_train_begin(model=self, logs={})
        for epoch in range(n_epochs):
            hook.on_epoch_begin(model=self, epoch=epoch, logs={})
            order = rng.permutation(n) if shuffle else np.arange(n)
            total, seen = 0.0, 0
            for batch, start in enumerate(range(0, n, batch_size)):
                index = order[start : start + batch_size]
                loss = self.train_on_batch(X[index], y[index])
                if not np.isfinite(loss):
                    raise FloatingPointError(f"{self.name}: the loss became {loss} at epoch {epoch + 1}, batch {batch + 1}")
                total += loss * len(index)
                seen += len(index)
                hook.on_batch_end(model=self, batch=batch, logs={"loss": total / seen})
            logs = {"loss": total / seen}
            if verbose:
                print(f"Epoch {epoch + 1}/{n_epochs} - loss: {logs['loss']:.4f}")
            hook.on_epoch_end(model=self, epoch=epoch, logs=logs)
            if self.stop_training:
                break
        hook.on_train_end(model=self, logs={})
        return history

    def train_on_batch(self, X: np.ndarray, y: np.ndarray) -> float:
        """One gradient step on one batch (already checked and cast); returns the batch's loss."""
        self._prepare_training()
        y_pred = self._forward(X, training=True)
        loss = self.loss(y_pred, y)
        self._backward(y_pred, y)
        self.optimizer.apply(self._params(), self._grads())
        return loss

    def evaluate(self, X: Any, y: Any, batch_size: int | None = None, verbose: int = 0) -> tuple:
        """Return ``(loss, *metrics)`` over all of ``X`` and ``y``, computed in bounded-size chunks."""
        self._require_compiled("evaluate")
        X, y = self._check_data(X, y, "evaluate")
        total = 0.0
        for start, stop in _chunks(len(X), batch_size):
            total += self.loss(self._forward(X[start:stop], False), y[start:stop]) * (stop - start)
        return (total / len(X),)

    def predict(self, X: Any, batch_size: int | None = None) -> np.ndarray:
        """Return the model's outputs for ``X``, working through it ``batch_size`` samples at a time."""
        self._require_layers()
        X = self._check_inputs(X, "predict")
        outputs = np.empty((len(X),) + self.output_shape, dtype=self.dtype)
        for start, stop in _chunks(len(X), batch_size):
            outputs[start:stop] = self._forward(X[start:stop], False)
        return outputs

    # -- input checks -------------------------------------------------------------------------
    def _require_layers(self) -> None:
        if not self.layers:
            raise ValueError(f"{self.name}: the model has no layers; add() some first")

    def _require_compiled(self, method: str) -> None:
        self._require_layers()
        if self.loss is None:
            raise RuntimeError(f"{self.name}: call compile(loss, optimizer) before {method}()")

    def _check_inputs(self, X: Any, method: str) -> np.ndarray:
        X = _as_array(X, "X", method, self.dtype)
        if X.shape[1:] != self.input_shape:
            raise ValueError(f"{method}(): X has samples of shape {X.shape[1:]}, the model expects {self.input_shape} (input_size of its first layer)")
        return X

    def _check_data(self, X: Any, y: Any, method: str) -> tuple[np.ndarray, np.ndarray]:
        X = self._check_inputs(X, method)
        y = _as_array(y, "y", method, None)
        if len(X) != len(y):
            raise ValueError(f"{method}(): X has {len(X)} samples but y has {len(y)}; expected the same number")
        if y.dtype.kind == "f" or y.dtype.kind in "iub":
            y = y.astype(self.dtype if y.dtype.kind == "f" else y.dtype, copy=False)
        return X, y


def _flatten_optimizer_state(optimizer: Any, shapes: list[tuple]) -> None:
    """Concatenate per-array optimizer state (one slot per weight, arrays of the weight's shape) into one flat slot."""
    state = getattr(optimizer, "state", None)
    if not state or [tuple(s) for s in optimizer._shapes()] != [tuple(s) for s in shapes]:
        return  # nothing built yet, or already flat: apply() checks it
    optimizer.state = [{key: np.concatenate([slot[key].ravel() for slot in state]) for key in state[0]}]
    optimizer._state_shapes = [(sum(int(np.prod(s)) for s in shapes),)]


def _as_array(value: Any, argument: str, method: str, dtype: np.dtype | None) -> np.ndarray:
    array = np.asarray(value)
    if array.dtype.kind not in "fiub":
        raise TypeError(f"{method}(): {argument} must be numeric, got an array of dtype {array.dtype}")
    if array.ndim == 0 or len(array) == 0:
        raise ValueError(f"{method}(): {argument} is empty (shape {array.shape}); expected at least one sample")
    if array.dtype.kind == "f" and not _all_finite(array):
        raise ValueError(f"{method}(): {argument} contains NaN or infinity; expected finite numbers")
    if dtype is not None:
        array = array.astype(dtype, copy=False)
    return array


def _all_finite(array: np.ndarray, chunk_bytes: int = 1 << 20) -> bool:
    """``np.isfinite(array).all()``, a slice of samples at a time, so the check never doubles the data's memory."""
    rows = max(1, chunk_bytes // max(1, array[:1].nbytes))
    return all(np.isfinite(array[start : start + rows]).all() for start in range(0, len(array), rows))


def _chunks(n: int, batch_size: int | None, default: int = 256):
    size = _positive_int(batch_size if batch_size is not None else default, "batch_size")
    for start in range(0, n, size):
        yield start, min(start + size, n)


def _positive_int(value: Any, argument: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"{argument}: expected a positive integer, got {value!r}")
    return int(value)


def _positive_float(value: Any, argument: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{argument}: expected a positive number, got {value!r}") from None
    if not np.isfinite(number) or number <= 0:
        raise ValueError(f"{argument}: expected a positive number, got {value!r}")
    return number


def _epochs_argument(n_epochs: int | None, epochs: int | None) -> int:
    if n_epochs is not None and epochs is not None and n_epochs != epochs:
        raise ValueError(f"fit(): got n_epochs={n_epochs} and epochs={epochs}; give one")
    value = n_epochs if n_epochs is not None else (epochs if epochs is not None else 1)
    return _positive_int(value, "n_epochs")
