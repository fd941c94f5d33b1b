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
from . import data, inference, parallel
from .callback_list import CallbackList
from .compile_utils import compile_arguments, fit_arguments
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
            X: Any = None, **extras: Any) -> History:
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
        """
        fit_arguments(args, extras)
        X = one_of(x, X, "fit")
        self._require_compiled("fit", X)
        n_epochs = data.epochs_argument(n_epochs, epochs)
        initial_epoch = non_negative_int(initial_epoch, "initial_epoch")
        verbose = data.verbose_argument(verbose)
        batch_size = positive_int(batch_size if batch_size is not None else 32, "batch_size")
        validation_freq = positive_int(validation_freq, "validation_freq")
        X, y = data.check_data(self, X, y, "fit")
        X, y, validation = data.split_validation(self, X, y, validation_split, validation_data)
        if optimizer is not None:
            self.optimizer = get("optimizer", optimizer)
        if learning_rate is not None:
            self.optimizer.learning_rate = positive_number(learning_rate, "learning_rate")
        rng = np.random.default_rng(seed) if seed is not None else self._rng
        noise_base = _noise_base(seed) if seed is not None else self._noise_base
        n, steps = len(X), -(-len(X) // batch_size)
        self.history = history = History()
        shown = [ProgbarLogger(verbose)] if verbose else []
        events = CallbackList([*shown, *(callbacks or [])], model=self, last=[history],
                              params={"verbose": verbose, "epochs": n_epochs, "steps": steps})
        self.stop_training = False
        self._setup = None  # layers may have changed since the last fit
        logs: dict = {}
        events.train_begin()
        with Workers(parallel.parts_for(self.flat_layers, min(batch_size, n), training=True)) as workers:
            for epoch in range(initial_epoch, n_epochs):
                events.epoch_begin(epoch)
                order = rng.permutation(n) if shuffle else None
                totals = dict.fromkeys(["loss", *(m.name for m in self.metrics)], 0.0)
                seen = 0
                for batch in range(steps):
                    start, stop = batch * batch_size, min((batch + 1) * batch_size, n)
                    events.batch_begin(batch)
                    if order is None:  # in order: views of the data, no copy
                        X_batch, y_batch = X[start:stop], y[start:stop]
                    else:  # np.take copies the rows faster than fancy indexing does
                        X_batch, y_batch = np.take(X, order[start:stop], axis=0), np.take(y, order[start:stop], axis=0)
                    loss, y_pred = self._train_batch(X_batch, y_batch, workers, noise_base)
                    totals["loss"] += loss * (stop - start)
                    for metric in self.metrics:
                        totals[metric.name] += metric(y_pred, y_batch) * (stop - start)
                    seen += stop - start
                    events.batch_end(batch, lambda totals=totals, seen=seen: {key: value / seen for key, value in totals.items()})
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
                if validation is not None and np.isfinite(logs["loss"]) and (epoch + 1) % validation_freq == 0:
                    values = inference.evaluate_arrays(self, *validation, validation_batch_size or batch_size)
                    logs.update({f"val_{key}": value for key, value in values.items()})
                events.epoch_end(epoch, logs)
                if self.stop_training:
                    break
        events.train_end(logs)
        return history

    def _train_batch(self, X: np.ndarray, y: np.ndarray, workers: Workers, noise_base: int) -> tuple[float, np.ndarray]:
        """One gradient step on a checked batch; returns its loss and predictions.

        Random layers (Dropout) draw from a key made of ``noise_base`` and the step's number
        (``optimizer.iterations``), so shuffling's generator is untouched, and a run resumed from
        a saved model continues the same noise.
        """
        self._setup = setup = StepSetup.reuse(self._setup, self.flat_layers, self.optimizer)
        noise_key = (noise_base + (self.optimizer.iterations + 1) * 0x9E3779B97F4A7C15) % 2**63
        y_pred = parallel.train_in_parts(self.flat_layers, self.loss, X, y, workers, setup.replicas, setup.grads, noise_key)
        loss = self.loss(y_pred, y)
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
