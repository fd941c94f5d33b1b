"""Parts of a batch on several cores: when to split, replicas of the layers, and the gradient sum.

Samples are independent, so a batch can be cut into parts that go through the layers at once on
threads (see :mod:`.threads`). For training, the model's layers take the first part and replicas
of them (``Layer.replica``: the same weights, their own gradients and caches) the others. The
loss is a mean over samples, so part ``p`` of ``n_p`` samples back-propagates its own mean loss
times ``n_p / n``, and the parts' weight gradients add up to the batch's.
"""

from __future__ import annotations

import math

import numpy as np

from ..layer import Layer
from ..loss import Loss
from . import step
from .flat import FlatBuffer
from .threads import Workers, available_cores, split

#: Layer output values (summed over the layers) a part must produce to be worth its own
#: thread: the benchmark's CNN makes about 36,000 per sample (threads measured 1.3-1.5x
#: faster), its MLP about 400 and its seed model about 60 (threads measured 1.3x and 3x slower).
MIN_VALUES_PER_PART = 1 << 20


def parts_for(layers: list[Layer], batch: int, training: bool) -> int:
    """How many parts (one per thread) a batch of ``batch`` samples is cut into.

    Threads pay off only when each part has enough memory-bound work (activations, pooling)
    to hide their cost: starting them, and the interpreter's lock, which they take in turn
    between numpy calls. The layers' outputs per sample measure that work; small models (an
    MLP, the 8x8 seed model) measured slower on threads, so they stay on one, with BLAS's own
    threads for their products. One layer with ``parallel_inference`` false keeps prediction on
    one thread; a layer with ``parallel_training`` false runs once on the whole batch while the
    others train in parts (see ``train_in_parts``).
    """
    if not training and not all(getattr(layer, "parallel_inference", True) for layer in layers):
        return 1
    values = batch * sum(math.prod(layer.output_shape) for layer in layers)
    return max(1, min(batch, available_cores(), values // MIN_VALUES_PER_PART))


class Replicas:
    """Stacks of layer replicas for the parts of a batch past the first, each with its gradients in the model's order.

    Made on first use and kept until the layers, weights or optimizer change (the trainer then
    makes a new ``Replicas``). With a flat buffer, a stack's gradients are views of one flat
    vector of its own, so adding them into the model's is one vector addition.
    """

    def __init__(self, layers: list[Layer], flat: FlatBuffer | None) -> None:
        self.layers, self.flat = layers, flat
        self.stacks: list[tuple[list[Layer], list[np.ndarray]]] = []

    def get(self, count: int) -> list[tuple[list[Layer], list[np.ndarray]]]:
        """``count`` stacks ``(layers, gradients)``."""
        while len(self.stacks) < count:
            stack = [layer.replica() for layer in self.layers]
            if self.flat is None:
                grads = [layer.grads[name] for layer in stack for name in layer.trainable_names()]
            else:
                grads = [self.flat.own_grads(stack)]
            self.stacks.append((stack, grads))
        return self.stacks[:count]


def train_in_parts(
    layers: list[Layer], loss: Loss, X: np.ndarray, y: np.ndarray, workers: Workers, replicas: Replicas,
    grads: list[np.ndarray], noise_key: int = 0, scale: float = 1.0, first_row: int = 0
) -> np.ndarray:
    """One step's forward and backward over ``X``, in parts on ``workers``' threads; ``grads`` (the model's) end up holding the sum.

    Returns the predictions for the whole batch. A batch too small to share runs as one part.
    Random layers draw from ``noise_key`` at each part's rows (see ``step.forward``); ``scale``
    multiplies the batch's mean loss (a process's share of a global batch), and ``first_row`` is
    where ``X`` starts in that global batch, so each rank's rows draw their own noise.
    """
    bounds = [(0, len(X))] if workers.parts < 2 else split(len(X), min(workers.parts, parts_for(layers, len(X), training=True)))
    whole = [] if len(bounds) == 1 else [not getattr(layer, "parallel_training", True) for layer in layers]
    if len(bounds) == 1 or (any(whole) and any(type(layer).compute_mask is not Layer.compute_mask for layer in layers)):
        return step.train_step(layers, loss, X, y, scale, noise=(noise_key, first_row))  # masks across whole-batch layers: one piece
    stacks = [(layers, grads), *replicas.get(len(bounds) - 1)]
    if any(whole):
        y_pred = _train_in_runs(layers, whole, loss, X, y, workers, stacks, bounds, scale, (noise_key, first_row))
        _add_part_grads(grads, stacks)
        return y_pred
    y_pred = np.empty((len(X),) + layers[-1].output_shape, dtype=layers[-1].dtype)

    def train_part(stack: list[Layer], start: int, stop: int) -> None:
        y_pred[start:stop] = step.train_step(stack, loss, X[start:stop], y[start:stop], scale * (stop - start) / len(X),
                                            (noise_key, first_row + start))

    workers.run(train_part, [(stack, start, stop) for (stack, _), (start, stop) in zip(stacks, bounds)])
    _add_part_grads(grads, stacks)
    return y_pred


def _add_part_grads(grads: list[np.ndarray], stacks: list) -> None:
    for _, part_grads in stacks[1:]:
        for total, grad in zip(grads, part_grads):
            total += grad


def _train_in_runs(layers: list[Layer], whole: list[bool], loss: Loss, X: np.ndarray, y: np.ndarray, workers: Workers,
                   stacks: list, bounds: list, scale: float, noise: tuple[int, int]) -> np.ndarray:
    """A step where some layers need the whole batch (``parallel_training = False``: BatchNormalization's statistics).

    The runs of layers between them go through the parts at once, as usual, each part writing
    its rows of the run's output; a whole-batch layer then runs once, on the calling thread, on
    all the rows. Backward mirrors it from the gradient of the whole batch's mean loss, each
    part taking its rows of it. The numbers are those of one pass over the whole batch.
    """
    runs, start = [], 0  # (first, stop, whole?) stretches of layers
    for index, alone in enumerate(whole + [True]):
        if alone:
            if index > start:
                runs.append((start, index, False))
            if index < len(layers):
                runs.append((index, index + 1, True))
            start = index + 1
    jobs = [(stack, a, b) for (stack, _), (a, b) in zip(stacks, bounds)]
    key, first_row = noise
    A = X
    for first, stop, alone in runs:
        if alone:
            A = step.forward(layers[first:stop], A, True, (key, first_row), first)
            continue
        out = np.empty((len(X),) + layers[stop - 1].output_shape, dtype=layers[stop - 1].dtype)

        def forward_run(stack, a, b, first=first, stop=stop, A=A, out=out):
            out[a:b] = step.forward(stack[first:stop], A[a:b], True, (key, first_row + a), first)

        workers.run(forward_run, jobs)
        A = out
    grad, fused = step.output_gradient(layers[-1], loss, A, y)
    G = grad * scale if scale != 1.0 else grad
    for first, stop, alone in reversed(runs):
        fused_here = fused and stop == len(layers)
        if alone:
            G = step.backward_from(layers[first:stop], G, fused_here, first == 0)
            continue
        dA = np.empty((len(X),) + layers[first].input_shape, dtype=layers[first].dtype) if first else None

        def backward_run(stack, a, b, first=first, stop=stop, G=G, dA=dA, fused_here=fused_here):
            part = step.backward_from(stack[first:stop], G[a:b], fused_here, first == 0)
            if dA is not None:
                dA[a:b] = part

        workers.run(backward_run, jobs)
        G = dA
    return A


def forward_in_parts(layers: list[Layer], X: np.ndarray, workers: Workers) -> np.ndarray:
    """``step.forward(layers, X)`` for prediction, with ``X`` cut into parts that go through the layers at once."""
    bounds = [(0, len(X))] if workers.parts < 2 else split(len(X), min(workers.parts, parts_for(layers, len(X), training=False)))
    if len(bounds) == 1:
        return step.forward(layers, X)
    outputs = np.empty((len(X),) + layers[-1].output_shape, dtype=layers[-1].dtype)

    def forward_part(start: int, stop: int) -> None:
        outputs[start:stop] = step.forward(layers, X[start:stop])

    workers.run(forward_part, bounds)
    return outputs
