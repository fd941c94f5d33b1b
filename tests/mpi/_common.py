"""What the programs run under ``mpiexec`` share: the strategy, the data, the models, comparisons.

Each program trains through the ``mpi`` strategy and, on every rank, the same model in one process
without a strategy, and raises ``AssertionError`` (which fails the job: see ``expect``) where they
differ. ``tests/test_mpi.py`` runs them with ``mpiexec -n 2`` and reads what rank 0 prints.
"""

from __future__ import annotations

import sys

import numpy as np

import minikeras_core as mk

STRATEGY = mk.get("strategy", "mpi")
RANK, SIZE = STRATEGY.rank, STRATEGY.size
TOLERANCE = 1e-6  # the bound, in float64 (the gaps measured are about 1e-15)


def say(*parts) -> None:
    """Print on rank 0 only (the job's output is every rank's, interleaved)."""
    if RANK == 0:
        print(*parts, flush=True)


def expect(condition: bool, message: str) -> None:
    """Fail the whole job, naming the rank, unless ``condition`` holds."""
    if not condition:
        error = AssertionError(f"rank {RANK}: {message}")
        STRATEGY.abort(error)
        raise error


def digits(n: int | None = None):
    X, y = mk.datasets.load_digits()
    n = len(X) if n is None else n
    return X[:n] / 16.0, y[:n]


def model(kind: str = "mlp", optimizer="adam", seed: int = 0, dropout: float = 0.0):
    model = mk.Sequential(seed=seed, dtype="float64")
    if kind == "mlp":
        model.add("flatten", input_size=(8, 8))
        model.add("dense", units=16, activation="tanh")
        if dropout:
            model.add("dropout", rate=dropout)
    elif kind == "cnn":
        model.add("conv2d", filters=4, kernel_size=3, activation="relu", input_size=(8, 8, 1))
        model.add("flatten")
    elif kind == "rnn":  # each image read row by row: 8 steps of 8 pixels
        model.add("simple_rnn", units=12, input_size=(8, 8))
    model.add("dense", units=10, activation="softmax")
    if isinstance(optimizer, tuple):  # (name, arguments): a fresh instance per model
        optimizer = mk.get("optimizer", optimizer[0], **optimizer[1])
    model.compile("sparse_categorical_crossentropy", optimizer=optimizer, metrics=["accuracy"])
    return model


def gap(a, b) -> float:
    """The largest absolute difference between two lists of arrays (or numbers)."""
    return max(float(np.max(np.abs(np.asarray(u, dtype=np.float64) - np.asarray(v, dtype=np.float64)), initial=0.0)) for u, v in zip(a, b))


def history_gap(a: dict, b: dict) -> float:
    expect(sorted(a) == sorted(b) and all(len(a[k]) == len(b[k]) for k in a), f"the same History keys and epochs: {a} and {b}")
    return max(abs(u - v) for k in a for u, v in zip(a[k], b[k]))


def same_on_every_rank(value, what: str) -> None:
    """``value`` (plain Python) is identical on every rank."""
    values = STRATEGY.all_gather_object(value)
    expect(all(v == values[0] for v in values), f"{what} differs across ranks: {values}")


def done() -> None:
    sys.stdout.flush()
    say("ALL OK")
