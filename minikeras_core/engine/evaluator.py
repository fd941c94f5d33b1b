"""``evaluate``, ``predict`` and their one-batch forms, and the checks that a model can run; the Trainer inherits them."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..strategy import current as current_strategy
from . import data, distributed, inference, sources, step
from .callback_list import CallbackList
from .distributed import failing_together


class Evaluator:
    """The Keras methods that run a model without training it (see :class:`~minikeras_core.engine.Trainer`)."""

    def evaluate(self, x: Any = None, y: Any = None, batch_size: int | None = None, verbose: int | str = 0, *,
                 callbacks: list | None = None, return_dict: bool = False, X: Any = None, strategy: Any = None,
                 **extras: Any) -> tuple | dict:
        """Return ``(loss, *metrics)`` over all of ``x`` and ``y`` (metrics in ``compile``'s order).

        Works in chunks of ``batch_size`` samples (256 by default); ``x`` may also be a PyDataset.
        ``return_dict=True`` returns ``{"loss": ..., name: ...}``; ``verbose`` > 0 prints the
        figures on one line; the ``on_evaluate_end`` hook of ``callbacks`` and of installed
        callbacks receives them. Under a strategy every rank evaluates its share and returns the
        figures of the whole data.
        """
        x = _one_of(x, X, "evaluate")
        data.refuse_unsupported("evaluate", extras, allowed=("steps",))
        strategy = current_strategy(strategy)
        self._require_compiled("evaluate", None if self.built else sources.first_inputs(x))  # a built model reads no batch here
        verbose = data.verbose_argument(verbose) if strategy is None or strategy.is_chief else 0
        with failing_together(strategy):
            values = self._evaluate_data(x if sources.is_dataset(x) else data.check_data(self, x, y, "evaluate"), batch_size, strategy)
        if verbose:
            print(" - ".join(f"{key}: {value:.4f}" for key, value in values.items()))
        CallbackList(callbacks or [], model=self).evaluate_end(values)
        return values if return_dict else tuple(values.values())

    def _evaluate_data(self, source: Any, batch_size: int | None, strategy: Any) -> dict[str, float]:
        """The mean loss and metrics over checked arrays ``(X, y)`` or a PyDataset, over every rank of ``strategy``."""
        if not sources.is_dataset(source):
            if strategy is None:
                return inference.evaluate_arrays(self, *source, batch_size)
            return distributed.evaluate(self, strategy, *source, batch_size, inference.evaluate_arrays)
        size, rank = (1, 0) if strategy is None else (strategy.size, strategy.rank)
        keys = ["loss", *(m.name for m in self.metrics)]
        sums = np.zeros(len(keys) + 1)
        for index in range(rank, len(source), size):  # each rank its own batches
            X, y = sources.checked_batch(self, source[index], f"the dataset's batch {index}")
            values = inference.evaluate_arrays(self, X, y, batch_size)
            sums += [*(values[key] * len(X) for key in keys), len(X)]
        sums = distributed.global_sums(strategy, list(sums))
        return {key: float(value) / sums[-1] for key, value in zip(keys, sums)}

    def predict(self, x: Any = None, batch_size: int | None = None, verbose: int | str = 0, *, X: Any = None,
                strategy: Any = None, steps: int | None = None, **extras: Any) -> np.ndarray:
        """The model's outputs for ``x``, ``batch_size`` samples (256 by default) at a time; ``x`` may be a memmap.

        ``x`` may also be a PyDataset (its batches' inputs, in order) or a generator with
        ``steps``. ``verbose`` 1 or 2 prints a closing line with the steps and time, as Keras
        does. Under a strategy every rank predicts its share and returns all the predictions.
        """
        x = _one_of(x, X, "predict")
        data.refuse_unsupported("predict", extras, allowed=("callbacks",))
        strategy = current_strategy(strategy)
        if sources.is_dataset(x) or sources.is_generator(x):
            count = len(x) if sources.is_dataset(x) else data.positive_int(steps, "steps") if steps is not None else None
            if count is None:
                raise ValueError("predict(): a generator needs steps (how many batches to predict)")
            batches = (x[i] for i in range(count)) if sources.is_dataset(x) else (next(x) for _ in range(count))
            parts = [self.predict(b[0] if isinstance(b, (tuple, list)) else b, batch_size, 0, strategy=strategy) for b in batches]
            return np.concatenate(parts)
        self._require_layers(x)
        verbose = data.verbose_argument(verbose) if strategy is None or strategy.is_chief else 0
        x = data.check_inputs(self, x, "predict", convert=False)
        with failing_together(strategy):
            if strategy is not None:
                return distributed.predict(strategy, x, lambda part: inference.predict_arrays(self, part, batch_size, verbose))
            return inference.predict_arrays(self, x, batch_size, verbose)

    def test_on_batch(self, x: Any = None, y: Any = None, return_dict: bool = False, *, X: Any = None) -> float | list | dict:
        """The loss (and metrics) of one batch, without training."""
        x = _one_of(x, X, "test_on_batch")
        self._require_compiled("test_on_batch", x)
        x, y = data.check_data(self, x, y, "test_on_batch")
        y_pred = step.forward(self.flat_layers, x)
        return self._batch_result(self.loss(y_pred, y), y_pred, y, return_dict)

    def predict_on_batch(self, x: Any = None, *, X: Any = None) -> np.ndarray:
        """The model's outputs for one batch, in one forward pass."""
        x = _one_of(x, X, "predict_on_batch")
        self._require_layers(x)
        return step.forward(self.flat_layers, data.check_inputs(self, x, "predict_on_batch"))

    def _batch_result(self, loss: float, y_pred: np.ndarray, y: np.ndarray, return_dict: bool) -> float | list | dict:
        """Keras's result of a ``*_on_batch`` call: the loss alone, or ``[loss, *metrics]``, or a dict."""
        values = {"loss": loss, **{m.name: m(y_pred, y) for m in self.metrics}}
        if return_dict:
            return values
        return loss if not self.metrics else list(values.values())

    # -- state checks ---------------------------------------------------------------------------
    def _require_layers(self, x: Any = None) -> None:
        """A model with layers, built (from the samples of ``x`` when it was not, as Keras builds on first data)."""
        if not self.layers:
            raise ValueError(f"{self.name}: the model has no layers; add() some first")
        if not self.built and x is not None:
            try:
                shape = np.shape(x)[1:]
            except ValueError:  # ragged data: the data checks say what is wrong with it
                return
            self.build(shape)

    def _require_compiled(self, method: str, x: Any = None) -> None:
        self._require_layers(x)
        if self.loss is None:
            raise ValueError(f"{self.name}: you must call compile(loss, optimizer) before {method}()")


def _one_of(x: Any, X: Any, method: str) -> Any:
    """The inputs, given as Keras's ``x`` or the seed's ``X``."""
    if x is not None and X is not None:
        raise TypeError(f"{method}(): got both x and X; give the inputs once")
    if x is None and X is None:
        raise TypeError(f"{method}(): missing the inputs x")
    return x if x is not None else X


one_of = _one_of
