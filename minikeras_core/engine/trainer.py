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
from . import data, inference, parallel, step
from .callback_list import CallbackList
from .setup import StepSetup
from .threads import Workers


class Trainer:
    """``compile``, ``fit``, ``evaluate``, ``predict`` and the ``*_on_batch`` methods, as in Keras."""

    loss: Any = None
    optimizer: Any = None
    metrics: list = []
    stop_training = False
    layers: list = []
    flat_layers: list = []
    history: History | None = None
    _noise_base = 0  # the key random layers' noise starts from; a model sets its own (see noise_base)
    _setup: StepSetup | None = None  # how steps run: flat buffer or separate arrays, replicas

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
        if len(set(names)) != len(names) or "loss" in names:
            raise ValueError(f"compile(): metric names must be distinct and not 'loss', got {names}")

    def compile_config(self) -> dict | None:
        """The loss, optimizer and metrics as registered names with arguments (``None`` before ``compile``)."""
        if self.loss is None:
            return None
        return {"loss": serialize(self.loss), "optimizer": serialize(self.optimizer), "metrics": [serialize(m) for m in self.metrics]}

    # -- training -------------------------------------------------------------------------------
    def fit(self, X: Any, y: Any, n_epochs: int | None = None, batch_size: int | None = 32, learning_rate: float | None = None,
            optimizer: Any = None, verbose: int | str = 1, shuffle: bool = True, seed: int | None = None, *,
            epochs: int | None = None, callbacks: list | None = None, validation_split: float = 0.0,
            validation_data: tuple | None = None, initial_epoch: int = 0) -> History:
        """Train over mini-batches until epoch ``n_epochs`` (Keras's ``epochs``); returns a ``History``.

        Training runs epochs ``initial_epoch`` .. ``n_epochs - 1``. ``validation_split`` holds out
        the last fraction of the samples (before shuffling, as Keras); ``validation_data=(X_val,
        y_val)`` is used instead when given; validation figures are logged as ``val_*``.
        ``shuffle`` reorders the samples each epoch, from ``np.random.default_rng(seed)`` or the
        model's own generator (saved with the model). ``learning_rate`` sets the optimizer's
        rate; ``optimizer`` replaces the compiled one. ``verbose``: 0 silent, 1 progress bar, 2
        a line per epoch. A loss that becomes NaN raises ``FloatingPointError`` naming the epoch
        and batch (``TerminateOnNaN`` makes that a quiet stop). Large models train parts of each
        batch on threads (see :mod:`minikeras_core.engine.parallel`): the same step, to rounding.
        """
        self._require_compiled("fit", X)
        n_epochs = data.epochs_argument(n_epochs, epochs)
        initial_epoch = non_negative_int(initial_epoch, "initial_epoch")
        verbose = data.verbose_argument(verbose)
        batch_size = positive_int(batch_size if batch_size is not None else 32, "batch_size")
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
                if validation is not None and np.isfinite(logs["loss"]):
                    values = inference.evaluate_arrays(self, *validation, batch_size)
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

    def train_on_batch(self, X: Any, y: Any, return_dict: bool = False) -> float | list | dict:
        """One gradient step on one batch; returns its loss, or ``[loss, *metrics]`` with metrics compiled (as Keras)."""
        self._require_compiled("train_on_batch", X)
        X, y = data.check_data(self, X, y, "train_on_batch")
        with Workers(parallel.parts_for(self.flat_layers, len(X), training=True)) as workers:
            loss, y_pred = self._train_batch(X, y, workers, self._noise_base)
        return self._batch_result(loss, y_pred, y, return_dict)

    def test_on_batch(self, X: Any, y: Any, return_dict: bool = False) -> float | list | dict:
        """The loss (and metrics) of one batch, without training."""
        self._require_compiled("test_on_batch", X)
        X, y = data.check_data(self, X, y, "test_on_batch")
        y_pred = step.forward(self.flat_layers, X)
        return self._batch_result(self.loss(y_pred, y), y_pred, y, return_dict)

    def predict_on_batch(self, X: Any) -> np.ndarray:
        """The model's outputs for one batch, in one forward pass."""
        self._require_layers(X)
        return step.forward(self.flat_layers, data.check_inputs(self, X, "predict_on_batch"))

    def _batch_result(self, loss: float, y_pred: np.ndarray, y: np.ndarray, return_dict: bool) -> float | list | dict:
        values = {"loss": loss, **{m.name: m(y_pred, y) for m in self.metrics}}
        if return_dict:
            return values
        return loss if not self.metrics else list(values.values())

    # -- evaluation and prediction --------------------------------------------------------------
    def evaluate(self, X: Any, y: Any, batch_size: int | None = None, verbose: int | str = 0, *,
                 callbacks: list | None = None, return_dict: bool = False) -> tuple | dict:
        """Return ``(loss, *metrics)`` over all of ``X`` and ``y`` (metrics in ``compile``'s order).

        Works in chunks of ``batch_size`` samples (256 by default). ``return_dict=True`` returns
        ``{"loss": ..., name: ...}``; ``verbose`` > 0 prints the figures on one line; the
        ``on_evaluate_end`` hook of ``callbacks`` and of installed callbacks receives them.
        """
        self._require_compiled("evaluate", X)
        verbose = data.verbose_argument(verbose)
        X, y = data.check_data(self, X, y, "evaluate")
        values = inference.evaluate_arrays(self, X, y, batch_size)
        if verbose:
            print(" - ".join(f"{key}: {value:.4f}" for key, value in values.items()))
        CallbackList(callbacks or [], model=self).evaluate_end(values)
        return values if return_dict else tuple(values.values())

    def predict(self, X: Any, batch_size: int | None = None, verbose: int | str = 0) -> np.ndarray:
        """The model's outputs for ``X``, ``batch_size`` samples (256 by default) at a time; ``X`` may be a memmap.

        ``verbose`` 1 or 2 prints a closing line with the steps and time, as Keras does.
        """
        self._require_layers(X)
        verbose = data.verbose_argument(verbose)
        return inference.predict_arrays(self, data.check_inputs(self, X, "predict", convert=False), batch_size, verbose)

    # -- state checks ---------------------------------------------------------------------------
    def _require_layers(self, X: Any = None) -> None:
        """A model with layers, built (from the samples of ``X`` when it was not, as Keras builds on first data)."""
        if not self.layers:
            raise ValueError(f"{self.name}: the model has no layers; add() some first")
        if not self.built and X is not None:
            try:
                shape = np.shape(X)[1:]
            except ValueError:  # ragged data: the data checks say what is wrong with it
                return
            self.build(shape)

    def _require_compiled(self, method: str, X: Any = None) -> None:
        self._require_layers(X)
        if self.loss is None:
            raise ValueError(f"{self.name}: you must call compile(loss, optimizer) before {method}()")


def _noise_base(seed: int | None) -> int:
    """A base key for random layers' noise: from ``seed``, or fresh entropy when it is ``None``."""
    return int(np.random.SeedSequence(seed).generate_state(1, np.uint64)[0] >> 1)


noise_base = _noise_base

register_kind("model", "minikeras.models", Trainer)
