"""Under mpiexec: data that streams from disk. A PyDataset reads each rank only its own batches; a memmap larger
than the process's memory limit trains, evaluates and predicts without ever being copied whole.

Usage: ``mpiexec -n 2 python streaming.py FOLDER`` (FOLDER: scratch space for the data files, ~130 MB).

The memory limit is ``RLIMIT_DATA`` (``ulimit -d``), which counts what a process allocates (numpy's
arrays, Python's objects) and not the pages of a file mapped read-only: each rank may allocate 48 MiB
beyond what it holds after start-up, while the memmap holds 128 MiB. One copy of it would fail with
``MemoryError``.
"""

import os
import resource
import sys

import numpy as np
from _common import RANK, SIZE, STRATEGY, TOLERANCE, digits, done, expect, gap, history_gap, model, say

import minikeras_core as mk

folder = sys.argv[1]
X, y = digits(320)


class FileBatches:
    """A PyDataset: batch ``i`` is rows ``i * batch ..`` of an ``.npy`` file, read from disk when asked for."""

    def __init__(self, path: str, labels: np.ndarray, batch: int) -> None:
        self.path, self.labels, self.batch, self.read = path, labels, batch, []

    def __len__(self) -> int:
        return -(-len(self.labels) // self.batch)

    def __getitem__(self, index: int):
        self.read.append(index)
        rows = np.load(self.path, mmap_mode="r")[index * self.batch : (index + 1) * self.batch]
        return np.array(rows), self.labels[index * self.batch : (index + 1) * self.batch]


path = os.path.join(folder, "digits.npy")
if RANK == 0:
    np.save(path, X)
STRATEGY.all_gather_object(None)  # the file exists before any rank reads it
dataset = FileBatches(path, y, 20)  # 16 batches: a step trains on SIZE of them, one read by each rank
ranked = model()
history = ranked.fit(dataset, epochs=2, verbose=0, strategy="mpi").history
steps = len(dataset) // SIZE
mine = [i for i in range(len(dataset)) if i % SIZE == RANK][:steps]
expect(dataset.read == mine * 2, f"rank {RANK} reads only its own batches {mine}, each once per epoch: read {dataset.read}")
alone = model()
merged = [(X[s * 20 * SIZE : (s + 1) * 20 * SIZE], y[s * 20 * SIZE : (s + 1) * 20 * SIZE]) for s in range(steps)]
expected = alone.fit(iter(merged * 2), steps_per_epoch=steps, epochs=2, verbose=0).history
worst = max(gap(ranked.get_weights(), alone.get_weights()), history_gap(history, expected))
expect(worst < TOLERANCE, f"the PyDataset over {SIZE} ranks trains as one process on the merged batches: {worst:.3g}")
figures = ranked.evaluate(FileBatches(path, y, 20), strategy="mpi")
expect(gap(figures, alone.evaluate(X, y)) < TOLERANCE, f"evaluate of a PyDataset over the ranks: {figures}")
say(f"OK a PyDataset streams each rank its own batches ({steps} of {len(dataset)} per epoch on rank 0); {SIZE} ranks = 1 process to {worst:.2g}")

# -- a memmap larger than the memory limit -------------------------------------------------------------
features, rows = 256, 131_072  # float32: 128 MiB
big = os.path.join(folder, "big.f32")
block = np.random.default_rng(0).random((8192, features), dtype=np.float32) - np.float32(0.5)
labels = np.tile(block[:, :4].sum(axis=1) > 0, rows // len(block)).astype(np.int64)  # learnable: the first 4 features
if RANK == 0:
    with open(big, "wb") as f:
        for _ in range(rows // len(block)):
            block.tofile(f)
del block
STRATEGY.all_gather_object(None)
mapped = np.memmap(big, dtype=np.float32, mode="r", shape=(rows, features))


def status(key: str) -> int:
    """A field of /proc/self/status, in KiB."""
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(key + ":"))


big_model = mk.Sequential(seed=0)  # float32, as the data
big_model.add("dense", units=8, activation="relu", input_size=(features,))
big_model.add("dense", units=2, activation="softmax")
big_model.compile("sparse_categorical_crossentropy", optimizer=mk.get("optimizer", "adam", learning_rate=0.02), metrics=["accuracy"])
big_model.fit(mapped[:64], labels[:64], epochs=1, verbose=0)  # one-time set-up (BLAS buffers, imports) before the limit
budget = 48 * 1024 * 1024
limit = status("VmData") * 1024 + budget
resource.setrlimit(resource.RLIMIT_DATA, (limit, resource.getrlimit(resource.RLIMIT_DATA)[1]))
try:
    np.ones(mapped.shape, np.float32)  # a whole copy does not fit: the limit is real
except MemoryError:
    pass
else:
    expect(False, "a 128 MiB array should not fit under the memory limit")
history = big_model.fit(mapped, labels, epochs=1, batch_size=4096, validation_split=0.1, verbose=0, strategy="mpi").history
figures = big_model.evaluate(mapped, labels, batch_size=8192, strategy="mpi")
predictions = big_model.predict(mapped, batch_size=8192, strategy="mpi")
expect(predictions.shape == (rows, 2), f"predict of the memmap gives every rank all {rows} predictions: {predictions.shape}")
expect(np.isfinite(history["loss"][0]) and np.isfinite(figures[0]), f"finite figures: {history}, {figures}")
say(f"OK a {mapped.nbytes / 2**20:.0f} MiB memmap trained, evaluated and predicted on {SIZE} ranks, each limited to "
    f"{budget / 2**20:.0f} MiB of allocations beyond start-up (RLIMIT_DATA {limit / 2**20:.0f} MiB); loss {history['loss'][0]:.4f}, "
    f"accuracy {figures[1]:.3f}, peak resident set {status('VmHWM') / 1024:.0f} MiB")
done()
