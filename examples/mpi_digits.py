"""The digits model trained on every rank of an MPI job, and the same model in one process: the same final loss.

    pip install -e ./plugins-mpi                  # mpi4py and the mpich wheel (mpiexec)
    mpiexec -n 2 python examples/mpi_digits.py    # any number of ranks; on several machines see the README

Each rank trains on its share of every global batch of 64 and the gradients are summed once per
step, so training over N ranks is training in one process with batches of 64: rank 0 then
trains that one-process model itself and prints both final losses. Without mpiexec the program
is one rank of one and prints the same numbers.
"""

import time

import numpy as np

import minikeras_core as keras
from minikeras_core import layers


def build() -> keras.Sequential:
    keras.utils.set_random_seed(42)
    model = keras.Sequential(
        [
            keras.Input(shape=(64,)),
            layers.Dense(64, activation="relu"),
            layers.Dense(10, activation="softmax"),
        ],
        dtype="float64",  # float64 so that both runs agree to every printed digit (float32 agrees to float32 rounding)
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


(x, y) = keras.datasets.load_digits()
x = x.reshape(len(x), 64) / 16.0

strategy = keras.get("strategy", "mpi")  # rank 0 of 1 when started without mpiexec
start = time.perf_counter()
model = build()
history = model.fit(x, y, batch_size=64, epochs=15, seed=0, verbose=2, strategy=strategy)  # only rank 0 prints
seconds = time.perf_counter() - start
loss, accuracy = model.evaluate(x, y, strategy=strategy)  # every rank gets the figures of all the data

if strategy.rank == 0:
    alone = build()
    reference = alone.fit(x, y, batch_size=64, epochs=15, seed=0, verbose=0)
    gap = max(float(np.max(np.abs(a - b))) for a, b in zip(model.get_weights(), alone.get_weights()))
    print(f"final loss, {strategy.size} rank(s) (mpi strategy): {history.history['loss'][-1]:.10f}  "
          f"(accuracy {accuracy:.4f}, {seconds:.2f} s)")
    print(f"final loss, 1 process (no strategy): {reference.history['loss'][-1]:.10f}  "
          f"(weights differ by at most {gap:.1e})")
