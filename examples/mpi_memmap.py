"""Training on a memmap file larger than each process's memory limit, over the ranks of an MPI job.

    python examples/mpi_memmap.py --make /tmp/big.f32 --gib 1                         # write the data once
    (ulimit -d 400000; mpiexec -n 2 python examples/mpi_memmap.py /tmp/big.f32)       # each rank: at most ~390 MiB

``ulimit -d`` (RLIMIT_DATA) caps what each process may allocate (numpy arrays, Python objects);
pages of a file mapped read-only do not count, and the kernel drops them again as memory is
needed. ``fit``, ``evaluate`` and ``predict`` read a memmap a batch at a time, each rank only its
share of every batch, so the 1 GiB file trains under a limit of 390 MiB; one copy of it would
end in ``MemoryError``. Without mpiexec it is one rank of one, under the same limit.
"""

import argparse
import resource
import time

import numpy as np

import minikeras_core as mk

FEATURES = 256


def make(path: str, gib: float) -> None:
    """Write ``gib`` GiB of float32 rows (FEATURES each, in [-0.5, 0.5)) a block at a time; see ``labels_for``."""
    block = np.random.default_rng(0).random((16384, FEATURES), dtype=np.float32) - np.float32(0.5)
    blocks = max(1, int(gib * 2**30 // block.nbytes))
    with open(path, "wb") as f:
        for _ in range(blocks):
            block.tofile(f)
    print(f"wrote {path}: {blocks * len(block):,} rows x {FEATURES} float32 = {blocks * block.nbytes / 2**30:.2f} GiB")


def labels_for(rows: int) -> np.ndarray:
    """Each row's class: whether its first 4 features sum past 0 (the file repeats one block of rows)."""
    block = np.random.default_rng(0).random((16384, FEATURES), dtype=np.float32) - np.float32(0.5)
    return np.tile(block[:, :4].sum(axis=1) > 0, rows // len(block)).astype(np.int8)


parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
parser.add_argument("path")
parser.add_argument("--make", action="store_true", help="write the data file and stop")
parser.add_argument("--gib", type=float, default=1.0, help="size of the file --make writes")
args = parser.parse_args()
if args.make:
    make(args.path, args.gib)
    raise SystemExit

strategy = mk.get("strategy", "mpi")
X = np.memmap(args.path, dtype=np.float32, mode="r")
X = X.reshape(len(X) // FEATURES, FEATURES)  # a view: nothing is read
y = labels_for(len(X))

model = mk.Sequential(seed=0)  # float32, as the file
model.add("dense", units=16, activation="relu", input_size=(FEATURES,))
model.add("dense", units=2, activation="softmax")
model.compile("sparse_categorical_crossentropy", optimizer=mk.get("optimizer", "adam", learning_rate=0.01), metrics=["accuracy"])

start = time.perf_counter()
model.fit(X, y, epochs=1, batch_size=8192, validation_split=0.05, verbose=2, strategy=strategy)
loss, accuracy = model.evaluate(X, y, batch_size=16384, strategy=strategy)
predictions = model.predict(X, batch_size=16384, strategy=strategy)  # all of them, on every rank
with open("/proc/self/status") as f:
    status = {line.split(":")[0]: int(line.split()[1]) for line in f if line.split(":")[0] in ("VmHWM", "VmData", "RssAnon")}
limit = resource.getrlimit(resource.RLIMIT_DATA)[0]
if strategy.rank == 0:
    print(f"{X.nbytes / 2**30:.2f} GiB memmap, {strategy.size} rank(s): loss {loss:.4f}, accuracy {accuracy:.4f}, "
          f"{len(predictions):,} predictions, {time.perf_counter() - start:.1f} s")
    print(f"rank 0: data segment {status['VmData'] / 1024:.0f} MiB of its limit "
          f"{'none' if limit == resource.RLIM_INFINITY else f'{limit / 2**20:.0f} MiB'} (ulimit -d), private memory "
          f"{status['RssAnon'] / 1024:.0f} MiB; peak resident set {status['VmHWM'] / 1024:.0f} MiB counts the file's pages it read")
