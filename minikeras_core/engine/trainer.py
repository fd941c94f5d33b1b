"""The training loop and the Keras methods around it, shared by every model type.

A model class inherits :class:`Trainer` and provides ``flat_layers`` (the layers that compute, in
order), ``built`` and ``build(input_shape)``, ``dtype``, ``input_shape``, ``output_shape``, ``name``,
``get_weights`` / ``set_weights`` and ``_rng`` (the generator used for shuffling). Everything else here works through :mod:`.step` (forward and
backward), :mod:`.data` (checks), :mod:`.flat` and :mod:`.parallel` (how a step runs) and
:mod:`.callback_list` (the events).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..arguments import non_negative_int, positive_int, positive_number
from ..callbacks import History, ProgbarLogger
from ..registry import get, register_kind, serialize
from ..strategy import current as current_strategy
from . import data, distributed, parallel, sources
from .callback_list import CallbackList
from .compile_utils import compile_arguments, fit_arguments
from .distributed import failing_together
from .evaluator import Evaluator, one_of
from .setup import StepSetup
from .threads import Workers


class Trainer(Evaluator):
    """``compile``, ``fit``, ``evaluate``, ``predict`` and the ``*_on_batch`` methods, as in Keras (the last from :class:`.Evaluator`)."""

    loss: Any = None
    optimizer: Any = None
    metrics: list = []
    stop_training = False
    layers: list = []
    flat_layers: list = []
    history: History | None = None
    distribute_strategy: Any = None  # the strategy of the last fit (rank 0 alone writes files after it)
    _noise_base = 0  # the key random layers' noise starts from; a model sets its own (see noise_base)
    _setup: StepSetup | None = None  # how steps run: flat buffer or separate arrays, replicas

    def compile(self, *args: Any, loss: Any = None, optimizer: Any = None, metrics: list | None = None, **extras: Any) -> None:
        """Set the loss, the optimizer (``sgd`` when none is given) and the metrics: names, classes or instances.

        Both orders read as meant: the original Mini-Keras's ``compile(loss, optimizer)`` and
        Keras's ``compile(optimizer, loss)`` (or keywords); a call that could be either is a
        ``TypeError`` saying so (see :mod:`.compile_utils`). ``metrics`` are logged by ``fit``
        under their names (and ``val_`` ones) and returned by ``evaluate`` after the loss.
        """
        loss, optimizer, metrics = compile_arguments(args, loss, optimizer, metrics, extras)
        self.loss = get("loss", loss)
        self.optimizer = get("optimizer", optimizer if optimizer is not None else "sgd")
        if metrics is not None and not isinstance(metrics, (list, tuple)):
            raise TypeError(f"compile(): metrics must be a list of names or Metric instances, got {metrics!r}")
        self.metrics = [get("metric", m, name=m) if isinstance(m, str) else get("metric", m) for m in metrics or []]
        names = [m.name for m in self.metrics]
        if len(set(names)) != len(names) or "loss" in names:
            raise ValueError(f"compile(): metric names must be distinct and not 'loss', got {names}")

    def compile_config(self) -> dict | None:
        """The loss, optimizer and metrics as registered names with arguments (``None`` before ``compile``)."""
        if self.loss is None:
            return None
        return {"loss": serialize(self.loss), "optimizer": serialize(self.optimizer), "metrics": [serialize(m) for m in self.metrics]}

    # -- training -------------------------------------------------------------------------------
    def fit(self, x: Any = None, y: Any = None, *args: Any, batch_size: int | None = None, epochs: int | None = None,
            verbose: int | str = 1, callbacks: list | None = None, validation_split: float = 0.0, validation_data: tuple | None = None,
            shuffle: bool = True, initial_epoch: int = 0, validation_batch_size: int | None = None, validation_freq: int = 1,
            n_epochs: int | None = None, learning_rate: float | None = None, optimizer: Any = None, seed: int | None = None,
            X: Any = None, strategy: Any = None, **extras: Any) -> History:
        """Train over mini-batches until epoch ``epochs`` (the seed's ``n_epochs``); returns a ``History``, as Keras's ``fit``.

        Training runs epochs ``initial_epoch`` .. ``epochs - 1``; ``batch_size`` defaults to 32.
        ``validation_split`` holds out the last fraction of the samples (before shuffling, as
        Keras); ``validation_data=(x_val, y_val)`` is used instead when given; validation runs
        every ``validation_freq`` epochs and is logged as ``val_*``. ``shuffle`` reorders the
        samples each epoch, from ``np.random.default_rng(seed)`` or the model's own generator
        (saved with the model). The seed's ``learning_rate`` sets the optimizer's rate and its
        ``optimizer`` replaces the compiled one. ``verbose``: 0 silent, 1 progress bar, 2 a line
        per epoch. Arguments after ``x`` and ``y`` go by keyword (the seed and Keras order them
        differently). A loss that becomes NaN raises ``FloatingPointError`` naming the epoch and
        batch (``TerminateOnNaN`` makes that a quiet stop). Large models train parts of each
        batch on threads (see :mod:`minikeras_core.engine.parallel`): the same step, to rounding.
        ``x`` may also be a PyDataset or a generator (with ``steps_per_epoch``), see
        :mod:`.sources`; ``strategy`` (or a ``distribute`` block) spreads training over processes,
        see :mod:`minikeras_core.strategy`.
        """
        steps_per_epoch = extras.pop("steps_per_epoch", None)
        fit_arguments(args, extras)
        X = one_of(x, X, "fit")
        strategy = current_strategy(strategy)
        self._require_compiled("fit", None if self.built else sources.first_inputs(X))  # a built model reads no batch here
        n_epochs = data.epochs_argument(n_epochs, epochs)
        initial_epoch = non_negative_int(initial_epoch, "initial_epoch")
        verbose = data.verbose_argument(verbose) if strategy is None or strategy.is_chief else 0
        batch_size = positive_int(batch_size if batch_size is not None else 32, "batch_size")
        validation_freq = positive_int(validation_freq, "validation_freq")
        if optimizer is not None:
            self.optimizer = get("optimizer", optimizer)
        if learning_rate is not None:
            self.optimizer.learning_rate = positive_number(learning_rate, "learning_rate")
        with failing_together(strategy):
            source, validation = self._sources(X, y, batch_size, shuffle, seed, strategy, steps_per_epoch, validation_split, validation_data)
            return self._fit_loop(source, validation, strategy, initial_epoch, n_epochs, verbose, callbacks,
                                  validation_batch_size or batch_size, validation_freq, seed)

    def _sources(self, X: Any, y: Any, batch_size: int, shuffle: bool, seed: int | None, strategy: Any, steps_per_epoch: int | None,
                 validation_split: float, validation_data: Any) -> tuple[Any, Any]:
        """Where the training batches come from, and the validation data (arrays, a dataset, or ``None``)."""
        rng = np.random.default_rng(seed) if seed is not None else self._rng
        if sources.is_dataset(X) or sources.is_generator(X):
            if validation_split:
                raise ValueError("fit(): validation_split needs arrays; give validation_data with a dataset or a generator")
            source = sources.DatasetSource(self, X, strategy) if sources.is_dataset(X) else sources.GeneratorSource(self, X, steps_per_epoch)
            if isinstance(validation_data, (tuple, list)):
                validation_data = data.check_data(self, *validation_data, "fit", "_val (validation_data)")
            if strategy is not None:
                distributed.set_up(self, strategy, len(X) if sources.is_dataset(X) else steps_per_epoch)
            return source, validation_data
        X, y = data.check_data(self, X, y, "fit")
        X, y, validation = data.split_validation(self, X, y, validation_split, validation_data)
        if strategy is not None:
            distributed.set_up(self, strategy, len(X))
        return sources.ArraySource(self, X, y, batch_size, shuffle, rng), validation

    def _fit_loop(self, source: Any, validation: Any, strategy: Any, initial_epoch: int, n_epochs: int, verbose: int,
                  callbacks: list | None, validation_batch_size: int, validation_freq: int, seed: int | None) -> History:
        """The epochs of ``fit``: each batch's step, the running figures (summed over ranks), validation, the events."""
        noise_base = _noise_base(seed) if seed is not None else self._noise_base
        steps = source.steps
        self.history = history = History()
        shown = [ProgbarLogger(verbose)] if verbose else []
        events = CallbackList([*([strategy] if strategy is not None else []), *shown, *(callbacks or [])], model=self,
                              last=[history], params={"verbose": verbose, "epochs": n_epochs, "steps": steps})
        self.stop_training = False
        self.distribute_strategy = strategy
        self._setup = None  # layers may have changed since the last fit
        logs: dict = {}
        events.train_begin()
        # whether any rank has callbacks on batches (rank 0's progress bar, say): then every rank agrees on a stop after
        # each batch; decided by all together, since a collective that some ranks skip would pair with another
        agree_per_batch = strategy is not None and bool(distributed.global_sums(strategy, [events.listens_to_batches])[0])
        with Workers(parallel.parts_for(self.flat_layers, getattr(source, "batch_size", 1 << 16), training=True)) as workers:
            for epoch in range(initial_epoch, n_epochs):
                events.epoch_begin(epoch)
                source.epoch_begin()
                totals = [0.0] * (1 + len(self.metrics))  # Python floats: numpy's scalar arithmetic costs more per batch
                seen = 0
                for batch in range(steps):
                    events.batch_begin(batch)
                    X_batch, y_batch, size, first_row = source.batch(batch, strategy)
                    if size is None:  # each rank read a batch of its own: the global batch is theirs together
                        size, first_row = distributed.batch_rows(strategy, len(X_batch))
                    loss, y_pred = self._train_batch(X_batch, y_batch, workers, noise_base, len(X_batch) / size, events, first_row)
                    sums = [loss * len(X_batch), *(m(y_pred, y_batch) * len(X_batch) if len(X_batch) else 0.0 for m in self.metrics)]
                    for index, value in enumerate(distributed.global_sums(strategy, sums) if strategy is not None else sums):
                        totals[index] += float(value)
                    seen += size
                    events.batch_end(batch, lambda totals=totals, seen=seen: self._logs(totals, seen))  # called at once, if anyone listens
                    if agree_per_batch:  # a callback's stop, on any rank, stops every rank
                        self.stop_training = bool(distributed.global_sums(strategy, [self.stop_training])[0])
                    if not math.isfinite(totals[0]):
                        if self.stop_training:  # a callback such as TerminateOnNaN chose to end here
                            break
                        raise FloatingPointError(
                            f"{self.name}: the loss became {totals[0] / seen} at epoch {epoch + 1}, batch {batch + 1} (of {steps}); "
                            "lower the learning rate, check the inputs' scale, or add the TerminateOnNaN callback to stop quietly"
                        )
                    if self.stop_training:
                        break
                source.epoch_end()
                logs = self._logs(totals, max(seen, 1))
                if validation is not None and np.isfinite(logs["loss"]) and (epoch + 1) % validation_freq == 0:
                    values = self._evaluate_data(validation, validation_batch_size, strategy)
                    logs.update({f"val_{key}": value for key, value in values.items()})
                events.epoch_end(epoch, logs)
                if strategy is not None:
                    self.stop_training = bool(distributed.global_sums(strategy, [self.stop_training])[0])
                if self.stop_training:
                    break
        events.train_end(logs)
        return history

    def _logs(self, totals: list[float], seen: int) -> dict:
        return {key: value / seen for key, value in zip(["loss", *(m.name for m in self.metrics)], totals)}

    def _train_batch(self, X: np.ndarray, y: np.ndarray, workers: Workers, noise_base: int, scale: float = 1.0,
                     events: CallbackList | None = None, first_row: int = 0) -> tuple[float, np.ndarray]:
        """One gradient step on a checked batch; returns its loss and predictions.

        ``scale`` is this process's share of the global batch (1 without a strategy): the
        gradients are those of ``scale`` times the batch's mean loss, and the
        ``on_gradients_ready`` hook (a strategy's all-reduce) sees them before the update.
        Random layers (Dropout) draw from a key made of ``noise_base`` and the step's number
        (``optimizer.iterations``), at the rows from ``first_row`` of the global batch, so
        shuffling's generator is untouched, a rank draws the noise its rows would draw in one
        process, and a run resumed from a saved model continues the same noise.
        """
        self._setup = setup = StepSetup.reuse(self._setup, self.flat_layers, self.optimizer)
        noise_key = (noise_base + (self.optimizer.iterations + 1) * 0x9E3779B97F4A7C15) % 2**63
        if len(X):
            y_pred = parallel.train_in_parts(self.flat_layers, self.loss, X, y, workers, setup.replicas, setup.grads, noise_key, scale,
                                             first_row)
            loss = self.loss(y_pred, y)
        else:  # this rank has no rows of a short last batch: it still takes part in the sum
            y_pred, loss = np.empty((0,) + self.output_shape, self.dtype), 0.0
            for grad in setup.grads:
                grad[...] = 0
        if events is not None:
            events.gradients_ready(setup.grads)
        self.optimizer.apply(setup.params, setup.grads)
        return loss, y_pred

    def train_on_batch(self, x: Any = None, y: Any = None, return_dict: bool = False, *, X: Any = None) -> float | list | dict:
        """One gradient step on one batch; returns its loss, or ``[loss, *metrics]`` with metrics compiled (as Keras)."""
        X = one_of(x, X, "train_on_batch")
        self._require_compiled("train_on_batch", X)
        X, y = data.check_data(self, X, y, "train_on_batch")
        with Workers(parallel.parts_for(self.flat_layers, len(X), training=True)) as workers:
            loss, y_pred = self._train_batch(X, y, workers, self._noise_base)
        return self._batch_result(loss, y_pred, y, return_dict)


def _noise_base(seed: int | None) -> int:
    """A base key for random layers' noise: from ``seed``, or fresh entropy when it is ``None``."""
    return int(np.random.SeedSequence(seed).generate_state(1, np.uint64)[0] >> 1)


noise_base = _noise_base

register_kind("model", "minikeras.models", Trainer)
