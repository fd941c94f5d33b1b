"""The Sequential model: a stack of layers trained by mini-batch gradient descent."""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np

from ._threads import MIN_VALUES_PER_PART, Workers, available_cores, finish, split
from .arguments import non_negative_int, positive_int, positive_number
from .backend import standardize_dtype
from .callbacks import History, ProgbarLogger
from .hooks import does_work, installed_callbacks, plugin_manager
from .layer import Layer
from .registry import get, serialize


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
        self._replicas: list = []  # layer replicas for parts of a batch trained on other threads (see _train_step)
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
        # snake case as Keras names layers: Conv2D -> conv2d, MaxPool2D -> max_pool2d, BasicRNN -> basic_rnn
        base = re.sub(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Za-z0-9])(?=[A-Z][a-z])", "_", class_name).lower()
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
        """Set the loss, optimizer (``sgd`` when none is given) and metrics: names, classes or instances.

        ``metrics`` are reported by ``fit`` (in its logs, under their names, and ``val_`` ones)
        and returned by ``evaluate`` after the loss, in the order given here. A metric given by
        name is logged under that name (``"mse"`` logs ``mse``).
        """
        self.loss = get("loss", loss)
        self.optimizer = get("optimizer", optimizer if optimizer is not None else "sgd")
        if metrics is not None and not isinstance(metrics, (list, tuple)):
            raise TypeError(f"compile(): metrics must be a list of names or Metric instances, got {metrics!r}")
        self.metrics = [get("metric", m, name=m) if isinstance(m, str) else get("metric", m) for m in metrics or []]
        names = [m.name for m in self.metrics]
        duplicates = sorted({n for n in names if names.count(n) > 1 or n == "loss"})
        if duplicates:
            raise ValueError(f"compile(): metric names must be distinct and not 'loss', got {names}")

    # -- weights ------------------------------------------------------------------------------
    def _params(self) -> list[np.ndarray]:
        """The arrays the optimizer updates: every weight, or the one flat buffer holding them all."""
        if self._flat is not None:
            return [self._flat[0]]
        return [p for layer in self.layers for p in layer.params.values()]

    def _grads(self) -> list[np.ndarray]:
        """The gradients matching ``_params()``."""
        if self._flat is not None:
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
        previous = self._training_key
        if previous is not None and len(previous) == len(key) and all(a is b for a, b in zip(previous, key)):
            if self._flat is None or self._flat_intact():
                return
        self._training_key = key
        self._flat = None
        self._replicas = []
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
    def _forward(self, X: np.ndarray, training: bool, layers: list[Layer] | None = None) -> np.ndarray:
        for layer in self.layers if layers is None else layers:
            X = layer.forward(X, training)
        return X

    def _backward(self, y_pred: np.ndarray, y_true: np.ndarray, layers: list[Layer] | None = None, scale: float = 1.0) -> None:
        """Fill the weight gradients of ``layers`` (the model's own by default) for the mean loss times ``scale``."""
        layers = self.layers if layers is None else layers
        last, first = layers[-1], layers[0]
        fused = None
        if last.activation is not None and type(last).backward is Layer.backward:
            fused = self.loss.fused_grad(last.activation, y_pred, y_true)
        if fused is not None:
            grad = fused * scale if scale != 1.0 else fused
        else:
            grad = self.loss.grad_input(y_pred, y_true)
            grad = grad * scale if scale != 1.0 else grad
        for layer in reversed(layers):
            # dL/d(data) is never used: the first layer may skip computing it
            grad = layer.backward(grad, need_input_grad=layer is not first, through_activation=fused is None or layer is not last)

    def fit(
        self,
        X: Any,
        y: Any,
        n_epochs: int | None = None,
        batch_size: int | None = 32,
        learning_rate: float | None = None,
        optimizer: Any = None,
        verbose: int | str = 1,
        shuffle: bool = True,
        seed: int | None = None,
        *,
        epochs: int | None = None,
        callbacks: list | None = None,
        validation_split: float = 0.0,
        validation_data: tuple | None = None,
        initial_epoch: int = 0,
    ) -> History:
        """Train over mini-batches until epoch ``n_epochs``; returns a ``History``, as Keras's ``fit``.

        - ``n_epochs`` (or Keras's ``epochs``) is the index of the last epoch: training runs
          epochs ``initial_epoch`` .. ``n_epochs - 1``, so a resumed run passes the epochs already
          done as ``initial_epoch``.
        - ``validation_split``: the fraction in (0, 1) of samples held out for validation, taken
          from the end of ``X`` and ``y`` before any shuffling, as Keras does. ``validation_data``
          ``(X_val, y_val)`` is used instead when given. Validation figures are logged as
          ``val_loss`` and ``val_<metric>`` at the end of each epoch.
        - ``shuffle``: reorder the training samples each epoch. The order comes from
          ``np.random.default_rng(seed)`` when ``seed`` is given, otherwise from the model's own
          generator (``Sequential(seed=...)``), whose state ``save`` stores so a loaded model
          continues the same sequence.
        - ``callbacks``: :class:`~minikeras_core.Callback` instances (any pluggy plugin of the
          training hooks) for this fit; installed ``minikeras.callbacks`` entry points join too.
        - ``verbose``: 0 silent, 1 progress bar (``"auto"`` means 1), 2 one line per epoch.
        - ``learning_rate``, when given, sets the optimizer's rate; ``optimizer`` replaces the
          compiled one, otherwise the compiled optimizer (and its state) carries on.

        A loss that becomes NaN or infinite raises ``FloatingPointError`` naming the epoch and
        batch (or, with the ``TerminateOnNaN`` callback, ends training there).

        With ``threadpoolctl`` installed and a model large enough to gain (the benchmark's CNN,
        not an MLP), each batch is cut into one part per core and the parts train at once on
        threads, through replicas of the layers (see ``Layer.replica``); the step equals one pass
        over the batch up to floating-point rounding. Limiting BLAS's threads limits these too.
        """
        self._require_compiled("fit")
        n_epochs = _epochs_argument(n_epochs, epochs)
        initial_epoch = non_negative_int(initial_epoch, "initial_epoch")
        verbose = _verbose_argument(verbose)
        batch_size = positive_int(batch_size if batch_size is not None else 32, "batch_size")
        X, y = self._check_data(X, y, "fit")
        X, y, validation = self._validation_arrays(X, y, validation_split, validation_data)
        if optimizer is not None:
            self.optimizer = get("optimizer", optimizer)
        if learning_rate is not None:
            self.optimizer.learning_rate = positive_number(learning_rate, "learning_rate")
        rng = np.random.default_rng(seed) if seed is not None else self._rng
        n = len(X)
        steps = -(-n // batch_size)
        history = History()
        progress = ProgbarLogger(verbose)
        progress.set_params(n_epochs, steps)
        shown = [progress] if verbose else []
        hook = plugin_manager([*shown, *(callbacks or []), *installed_callbacks(), history], installed=False).hook
        # Per-batch events nobody listens to are skipped (History and the base Callback ignore them).
        batch_begin, batch_end = does_work(hook.on_batch_begin), does_work(hook.on_batch_end)
        self.history = history
        self.stop_training = False
        logs: dict = {}
        hook.on_train_begin(model=self, logs={})
        self._replicas = []  # layers may have changed since the last fit
        # parts of each batch may train on threads at once (see _train_step); the threads live for this fit
        with Workers(self._parallel_parts(min(batch_size, n), "parallel_training")) as workers:
            for epoch in range(initial_epoch, n_epochs):
                hook.on_epoch_begin(model=self, epoch=epoch, logs={})
                order = rng.permutation(n) if shuffle else None
                totals = dict.fromkeys(["loss", *(m.name for m in self.metrics)], 0.0)
                seen = 0
                for batch in range(steps):
                    start, stop = batch * batch_size, min((batch + 1) * batch_size, n)
                    if batch_begin:
                        hook.on_batch_begin(model=self, batch=batch, logs={})
                    if order is None:  # in order: views of the data, no copy
                        X_batch, y_batch = X[start:stop], y[start:stop]
                    else:  # np.take copies the rows faster than fancy indexing does
                        index = order[start:stop]
                        X_batch, y_batch = np.take(X, index, axis=0), np.take(y, index, axis=0)
                    loss = self._train_step(X_batch, y_batch, workers)
                    count = stop - start
                    totals["loss"] += loss * count
                    for metric in self.metrics:
                        totals[metric.name] += metric(self._last_output, y_batch) * count
                    seen += count
                    if batch_end:
                        logs = {key: value / seen for key, value in totals.items()}
                        hook.on_batch_end(model=self, batch=batch, logs=logs)
                    if not math.isfinite(loss):
                        if self.stop_training:  # a callback such as TerminateOnNaN chose to end here
                            break
                        raise FloatingPointError(
                            f"{self.name}: the loss became {loss} at epoch {epoch + 1}, batch {batch + 1} (of {steps}); "
                            "lower the learning rate, check the inputs' scale, or add the TerminateOnNaN callback to stop quietly"
                        )
                    if self.stop_training:
                        break
                logs = {key: value / max(seen, 1) for key, value in totals.items()}
                if validation is not None and np.isfinite(logs["loss"]):
                    values = self._evaluate_arrays(*validation, batch_size)
                    logs.update({f"val_{key}": value for key, value in values.items()})
                hook.on_epoch_end(model=self, epoch=epoch, logs=logs)
                if self.stop_training:
                    break
        hook.on_train_end(model=self, logs=dict(logs))
        return history

    def train_on_batch(self, X: np.ndarray, y: np.ndarray) -> float:
        """One gradient step on one batch (already checked and cast); returns the batch's loss."""
        with Workers(self._parallel_parts(len(X), "parallel_training")) as workers:
            return self._train_step(X, y, workers)

    def _train_step(self, X: np.ndarray, y: np.ndarray, workers: Workers) -> float:
        """``train_on_batch`` with threads from ``workers``.

        A batch with enough work is cut into parts (see ``_parallel_parts``), one per thread:
        the model's layers take the first part and replicas of them (``Layer.replica``: the
        same weights, their own gradients and caches) the others. The loss is a mean over
        samples, so part ``p`` of ``n_p`` samples back-propagates its own mean loss times
        ``n_p / n``, and the parts' weight gradients add up to the batch's.
        """
        self._prepare_training()
        bounds = split(len(X), min(workers.parts, self._parallel_parts(len(X), "parallel_training")))
        if len(bounds) == 1:
            y_pred = self._forward(X, training=True)
            self._backward(y_pred, y)
        else:
            y_pred = np.empty((len(X),) + self.output_shape, dtype=self.dtype)

            def train_part(layers: list[Layer], start: int, stop: int) -> None:
                part = self._forward(X[start:stop], True, layers)
                y_pred[start:stop] = part
                self._backward(part, y[start:stop], layers, (stop - start) / len(X))

            stacks = [(self.layers, None), *self._replica_stacks(len(bounds) - 1)]
            workers.run(train_part, [(layers, start, stop) for (layers, _), (start, stop) in zip(stacks, bounds)])
            totals = self._grads()
            for _, grads in stacks[1:]:
                for total, grad in zip(totals, grads):
                    total += grad
        self._last_output = y_pred  # fit computes the training metrics from it
        loss = self.loss(y_pred, y)
        self.optimizer.apply(self._params(), self._grads())
        return loss

    def _replica_stacks(self, count: int) -> list[tuple[list[Layer], list[np.ndarray]]]:
        """``count`` stacks of layer replicas, each with its gradient arrays in ``_grads()``'s order.

        With flat buffers, a stack's gradients are views of one flat buffer of its own, so
        adding them into the model's is one vector addition. Kept until the layers, weights or
        optimizer change (``_prepare_training``) or the next ``fit``.
        """
        while len(self._replicas) < count:
            stack = [layer.replica() for layer in self.layers]
            if self._flat is None:
                grads = [g for layer in stack for g in layer.grads.values()]
            else:
                flat, offset = np.zeros_like(self._flat[1]), 0
                for layer in stack:
                    for name in layer.params:
                        shape = layer.grads[name].shape
                        layer.grads[name] = flat[offset : offset + math.prod(shape)].reshape(shape)
                        offset += math.prod(shape)
                grads = [flat]
            self._replicas.append((stack, grads))
        return self._replicas[:count]

    def evaluate(
        self, X: Any, y: Any, batch_size: int | None = None, verbose: int | str = 0, *, callbacks: list | None = None, return_dict: bool = False
    ) -> tuple | dict:
        """Return ``(loss, *metrics)`` over all of ``X`` and ``y`` (metrics in ``compile``'s order).

        Works in chunks of ``batch_size`` samples (256 by default), so only one chunk's
        activations exist at a time. ``return_dict=True`` returns ``{"loss": ..., name: ...}``.
        ``verbose`` > 0 prints the figures on one line. The ``on_evaluate_end`` hook of
        ``callbacks`` and of installed callbacks receives them.
        """
        self._require_compiled("evaluate")
        verbose = _verbose_argument(verbose)
        X, y = self._check_data(X, y, "evaluate")
        values = self._evaluate_arrays(X, y, batch_size)
        if verbose:
            print(" - ".join(f"{key}: {value:.4f}" for key, value in values.items()))
        plugin_manager(callbacks or []).hook.on_evaluate_end(model=self, logs=dict(values))
        return values if return_dict else tuple(values.values())

    def _evaluate_arrays(self, X: np.ndarray, y: np.ndarray, batch_size: int | None) -> dict[str, float]:
        totals = dict.fromkeys(["loss", *(m.name for m in self.metrics)], 0.0)
        chunk_size = min(len(X), positive_int(batch_size if batch_size is not None else 256, "batch_size"))
        # each chunk's forward pass in parts on threads, as predict does
        with Workers(self._parallel_parts(chunk_size, "parallel_inference")) as workers:
            for start, stop in _chunks(len(X), batch_size):
                y_pred = self._forward_in_parts(X[start:stop], workers)
                totals["loss"] += self.loss(y_pred, y[start:stop]) * (stop - start)
                for metric in self.metrics:
                    totals[metric.name] += metric(y_pred, y[start:stop]) * (stop - start)
        return {key: value / len(X) for key, value in totals.items()}

    def _forward_in_parts(self, X: np.ndarray, workers: Workers) -> np.ndarray:
        """``_forward(X, False)``, with ``X`` cut into parts that go through the layers at once on ``workers``' threads."""
        bounds = split(len(X), min(workers.parts, self._parallel_parts(len(X), "parallel_inference")))
        if len(bounds) == 1:
            return self._forward(X, False)
        outputs = np.empty((len(X),) + self.output_shape, dtype=self.dtype)

        def forward_part(start: int, stop: int) -> None:
            outputs[start:stop] = self._forward(X[start:stop], False)

        workers.run(forward_part, bounds)
        return outputs

    def predict(self, X: Any, batch_size: int | None = None, verbose: int | str = 0) -> np.ndarray:
        """Return the model's outputs for ``X``, working through it ``batch_size`` samples at a time (256 by default).

        ``X`` may be larger than memory (an ``np.memmap``, say): it is read, cast to the model's
        dtype and checked one chunk at a time, and only that chunk's activations exist at once;
        the result is an in-memory array of shape ``(len(X), *output_shape)``.
        """
        self._require_layers()
        X = self._check_inputs(X, "predict", convert=False)
        outputs = np.empty((len(X),) + self.output_shape, dtype=self.dtype)
        chunk_size = min(len(X), positive_int(batch_size if batch_size is not None else 256, "batch_size"))

        def forward_part(chunk: np.ndarray, offset: int, start: int, stop: int) -> None:
            outputs[offset + start : offset + stop] = self._forward(chunk[start:stop], False)

        # Samples are independent: each chunk is cut into one part per core, and the parts go
        # through the layers at once on threads (see _threads). This thread meanwhile reads,
        # casts and checks the next chunk; at most two chunks are in flight, so memory stays
        # bounded by the chunk size, and the threads never wait for each other between chunks.
        with Workers(self._parallel_parts(chunk_size, "parallel_inference")) as workers, workers.blas_limited():
            previous: list = []
            for offset, stop in _chunks(len(X), batch_size):
                chunk = np.asarray(X[offset:stop], dtype=self.dtype)
                if not _all_finite(chunk):
                    finish(previous)
                    raise ValueError(f"predict(): X contains NaN or infinity (in samples {offset}..{stop - 1}); expected finite numbers")
                parts = split(len(chunk), workers.parts)
                current = workers.start(forward_part, [(chunk, offset, start, stop) for start, stop in parts])
                finish(previous)
                previous = current
            finish(previous)
        return outputs

    def _parallel_parts(self, batch: int, permission: str) -> int:
        """How many parts (one per thread) a batch of ``batch`` samples is cut into, for ``predict`` or ``fit``.

        Threads pay off only when each part has enough memory-bound work (activations,
        pooling) to hide their cost: starting them, and the interpreter's lock, which they
        take in turn between numpy calls. The layers' outputs per sample measure that work;
        small models (an MLP, the 8x8 seed model) measured slower on threads, so they stay on
        one, with BLAS's own threads for their products. ``permission`` is the layer attribute
        that allows it (``parallel_inference`` or ``parallel_training``); one layer without it
        keeps the model on one thread.
        """
        if not all(getattr(layer, permission, True) for layer in self.layers):
            return 1
        values = batch * sum(math.prod(layer.output_shape) for layer in self.layers)
        return max(1, min(batch, available_cores(), values // MIN_VALUES_PER_PART))

    # -- input checks -------------------------------------------------------------------------
    def _require_layers(self) -> None:
        if not self.layers:
            raise ValueError(f"{self.name}: the model has no layers; add() some first")

    def _require_compiled(self, method: str) -> None:
        self._require_layers()
        if self.loss is None:
            raise RuntimeError(f"{self.name}: call compile(loss, optimizer) before {method}()")

    def _check_inputs(self, X: Any, method: str, convert: bool = True) -> np.ndarray:
        """``X`` checked (numeric, non-empty, finite, sample shape) and cast to the model's dtype.

        With ``convert=False`` an array is neither cast nor scanned for NaN here (``predict`` does
        both chunk by chunk, so an array larger than memory is never copied whole).
        """
        if convert or not isinstance(X, np.ndarray):
            X = _as_array(X, "X", method, self.dtype)
        else:
            _check_kind_and_size(X, "X", method)
        if X.ndim < 1 or X.shape[1:] != self.input_shape:
            raise ValueError(
                f"{method}(): X has samples of shape {X.shape[1:]}, the model expects {self.input_shape} "
                f"(input_size of its first layer {self.layers[0].name!r})"
            )
        return X

    def _check_data(self, X: Any, y: Any, method: str, argument: str = "") -> tuple[np.ndarray, np.ndarray]:
        X = self._check_inputs(X, method)
        y = _as_array(y, "y", method, None)
        if len(X) != len(y):
            raise ValueError(f"{method}(): X{argument} has {len(X)} samples but y{argument} has {len(y)}; expected the same number")
        if y.dtype.kind == "f":
            y = y.astype(self.dtype, copy=False)
        self._check_targets(y, method, argument)
        return X, y

    def _check_targets(self, y: np.ndarray, method: str, argument: str = "") -> None:
        """Check ``y`` against the output shape and the loss, before any training step.

        Accepted: targets of shape ``(n, *output_shape)``; for one output unit, ``(n, *output_shape[:-1])``;
        for a loss that accepts class ids, integer ids of shape ``(n, *output_shape[:-1])`` in ``[0, k)``.
        """
        loss_name = type(self.loss).__name__
        out = self.output_shape
        sample = y.shape[1:]
        classes = out[-1]
        ids_shape = out[:-1]
        if sample == out or (classes == 1 and sample == ids_shape):
            low, high = getattr(self.loss, "target_range", None) or (None, None)
            if low is not None and y.size and (y.min() < low or y.max() > high):
                raise ValueError(
                    f"{method}(): y{argument} holds values from {y.min()} to {y.max()}, but the loss {loss_name} expects "
                    f"targets in [{low}, {high}]"
                )
            return
        if sample in (ids_shape, ids_shape + (1,)) and classes > 1:
            if not getattr(self.loss, "accepts_class_ids", False):
                raise ValueError(
                    f"{method}(): y{argument} has samples of shape {sample} (class ids?) but the loss {loss_name} takes "
                    f"targets of the output's shape {out}; one-hot encode them or use a loss that accepts class ids"
                )
            if y.dtype.kind == "f" and not np.all(y == np.round(y)):
                raise ValueError(f"{method}(): y{argument} looks like class ids (shape {sample}) but holds non-integer values")
            if y.size and (y.min() < 0 or y.max() >= classes):
                raise ValueError(
                    f"{method}(): y{argument} holds class ids from {y.min()} to {y.max()}, but the model has {classes} "
                    f"outputs; the loss {loss_name} expects ids in [0, {classes - 1}]"
                )
            return
        expected = f"{out}" + (f" or class ids of shape {ids_shape}" if getattr(self.loss, "accepts_class_ids", False) else "")
        raise ValueError(
            f"{method}(): y{argument} has samples of shape {sample} but the model outputs {out} "
            f"(last layer {self.layers[-1].name!r}); expected targets of shape {expected}"
        )

    def _validation_arrays(self, X: np.ndarray, y: np.ndarray, split: Any, data: Any) -> tuple:
        """Training arrays and the validation pair (or ``None``), Keras's way."""
        if data is not None:
            if not isinstance(data, (tuple, list)) or len(data) != 2:
                raise ValueError(f"fit(): validation_data must be a pair (X_val, y_val), got {type(data).__name__}")
            return X, y, self._check_data(data[0], data[1], "fit", "_val (validation_data)")
        try:
            split = float(split or 0.0)
        except (TypeError, ValueError):
            raise ValueError(f"fit(): validation_split must be a number in [0, 1), got {split!r}") from None
        if not 0.0 <= split < 1.0:
            raise ValueError(f"fit(): validation_split must be in [0, 1), got {split}")
        if split == 0.0:
            return X, y, None
        # Keras: the last fraction of the data as given, before any shuffling.
        cut = int(math.ceil(len(X) * (1.0 - split)))
        if cut == 0 or cut == len(X):
            raise ValueError(
                f"fit(): validation_split={split} of {len(X)} samples leaves {cut} for training and "
                f"{len(X) - cut} for validation; expected at least one of each"
            )
        return X[:cut], y[:cut], (X[cut:], y[cut:])

    # -- saving and configuration -------------------------------------------------------------
    def get_config(self) -> dict:
        """The architecture as JSON-ready data: name, dtype, seed and each layer's registered name and arguments."""
        return {
            "name": self.name,
            "dtype": self.dtype.name,
            "seed": self.seed,
            "layers": [serialize(layer) for layer in self.layers],
        }

    @classmethod
    def from_config(cls, config: dict) -> Sequential:
        """A new model with the architecture ``get_config`` described (fresh weights), built through the registry."""
        if not isinstance(config, dict) or not isinstance(config.get("layers"), list):
            raise ValueError(f"Sequential.from_config: expected a dict with a 'layers' list, got {type(config).__name__}")
        model = cls(dtype=config.get("dtype"), seed=config.get("seed"), name=config.get("name"))
        for layer_config in config["layers"]:
            model.add(get("layer", layer_config))
        return model

    def compile_config(self) -> dict | None:
        """The loss, optimizer and metrics as registered names with arguments (``None`` before ``compile``)."""
        if self.loss is None:
            return None
        return {
            "loss": serialize(self.loss),
            "optimizer": serialize(self.optimizer),
            "metrics": [serialize(metric) for metric in self.metrics],
        }

    def save(self, path: Any) -> None:
        """Write the model to one file: architecture, weights, compile settings and optimizer state.

        The file is a zip of JSON and ``.npy`` arrays (no pickles), written atomically; read it
        back with :func:`minikeras_core.load_model`. See :mod:`minikeras_core.saving`.
        """
        from .saving import save_model

        save_model(self, path)

    def save_weights(self, path: Any) -> None:
        """Write only the weights (layer by layer, with their names and shapes) to one file, atomically."""
        from .saving import save_weights

        save_weights(self, path)

    def load_weights(self, path: Any) -> None:
        """Set the weights from a file ``save_weights`` (or ``save``) wrote; the architecture must match."""
        from .saving import load_weights

        load_weights(self, path)


def _flatten_optimizer_state(optimizer: Any, shapes: list[tuple]) -> None:
    """Concatenate per-array optimizer state (one slot per weight, arrays of the weight's shape) into one flat slot."""
    state = getattr(optimizer, "state", None)
    if not state or [tuple(s) for s in optimizer._shapes()] != [tuple(s) for s in shapes]:
        return  # nothing built yet, or already flat: apply() checks it
    optimizer.state = [{key: np.concatenate([slot[key].ravel() for slot in state]) for key in state[0]}]
    optimizer._state_shapes = [(sum(int(np.prod(s)) for s in shapes),)]


def _check_kind_and_size(array: np.ndarray, argument: str, method: str) -> None:
    if array.dtype.kind not in "fiub":
        raise TypeError(f"{method}(): {argument} must be numeric, got an array of dtype {array.dtype}")
    if array.ndim == 0 or len(array) == 0:
        raise ValueError(f"{method}(): {argument} is empty (shape {array.shape}); expected at least one sample")


def _as_array(value: Any, argument: str, method: str, dtype: np.dtype | None) -> np.ndarray:
    try:
        array = np.asarray(value)
    except (TypeError, ValueError) as err:  # ragged lists and the like
        raise TypeError(f"{method}(): {argument} must be a numeric array, got {type(value).__name__} ({err})") from None
    _check_kind_and_size(array, argument, method)
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
    size = positive_int(batch_size if batch_size is not None else default, "batch_size")
    for start in range(0, n, size):
        yield start, min(start + size, n)


def _verbose_argument(value: Any) -> int:
    if value == "auto":
        return 1
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value not in (0, 1, 2):
        raise ValueError(f"verbose: expected 0, 1, 2 or 'auto', got {value!r}")
    return int(value)


def _epochs_argument(n_epochs: int | None, epochs: int | None) -> int:
    if n_epochs is not None and epochs is not None and n_epochs != epochs:
        raise ValueError(f"fit(): got n_epochs={n_epochs} and epochs={epochs}; give one")
    value = n_epochs if n_epochs is not None else (epochs if epochs is not None else 1)
    return positive_int(value, "n_epochs")
