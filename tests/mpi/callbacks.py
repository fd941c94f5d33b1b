"""Under mpiexec: rank 0 alone prints and writes files; every rank stops at the same epoch.

Usage: ``mpiexec -n 2 python callbacks.py FOLDER`` (FOLDER exists; each rank writes under FOLDER/rankR).
"""

import csv
import os
import sys

from _common import RANK, STRATEGY, digits, done, expect, model, same_on_every_rank, say

import minikeras_core as mk
from minikeras_core.callbacks import Callback, CSVLogger, EarlyStopping, ModelCheckpoint, TerminateOnNaN

folder = os.path.join(sys.argv[1], f"rank{RANK}")
os.makedirs(folder, exist_ok=True)
X, y = digits(400)

# rank 0 alone prints the progress bar (verbose=2: a line per epoch) and writes checkpoints, logs, saves
trained = model()
history = trained.fit(X, y, epochs=3, batch_size=64, validation_split=0.25, verbose=2, strategy="mpi",
                      callbacks=[ModelCheckpoint(os.path.join(folder, "best.mk"), save_best_only=True),
                                 ModelCheckpoint(os.path.join(folder, "epoch{epoch}.mk")),
                                 CSVLogger(os.path.join(folder, "log.csv"))]).history
trained.save(os.path.join(folder, "model.mk"))
trained.save_weights(os.path.join(folder, "model.weights.mk"))
same_on_every_rank(history, "the History")
STRATEGY.all_gather_object(None)  # every rank has written (or not) before rank 0 looks
if RANK == 0:
    written = {r: sorted(os.listdir(os.path.join(sys.argv[1], f"rank{r}"))) for r in range(STRATEGY.size)}
    expect(written[0] == ["best.mk", "epoch1.mk", "epoch2.mk", "epoch3.mk", "log.csv", "model.mk", "model.weights.mk"], f"rank 0's files: {written[0]}")
    expect(all(not files for r, files in written.items() if r), f"no file from the other ranks: {written}")
    with open(os.path.join(folder, "log.csv")) as f:
        rows = list(csv.DictReader(f))
    expect([float(row["loss"]) for row in rows] == history["loss"], f"the CSV log holds the global losses: {rows}")
    restored = mk.load_model(os.path.join(folder, "model.mk"))
    expect(restored.evaluate(X, y) == trained.evaluate(X, y), "the saved model is the trained one")
say("OK rank 0 alone wrote the checkpoints, the CSV log and the saved model")


class StopOnRank(Callback):
    """Asks to stop after epoch ``epoch`` on rank ``rank`` only."""

    def __init__(self, rank: int, epoch: int) -> None:
        self.rank, self.epoch = rank, epoch

    def on_epoch_end(self, model, epoch, logs):
        if RANK == self.rank and epoch == self.epoch:
            model.stop_training = True


stopped = model().fit(X, y, epochs=10, batch_size=64, verbose=0, strategy="mpi", callbacks=[StopOnRank(1, 2)]).history
same_on_every_rank(len(stopped["loss"]), "the epoch a stop on rank 1 ended training")
expect(len(stopped["loss"]) == 3, f"rank 1's stop after the third epoch ends every rank: {len(stopped['loss'])} epochs")

early = EarlyStopping(monitor="val_loss", min_delta=0.02)
early_history = model().fit(X, y, epochs=50, batch_size=64, validation_split=0.25, verbose=0, strategy="mpi", callbacks=[early]).history
alone = model().fit(X, y, epochs=50, batch_size=64, validation_split=0.25, verbose=0, callbacks=[EarlyStopping(monitor="val_loss", min_delta=0.02)])
same_on_every_rank(len(early_history["loss"]), "the epoch EarlyStopping stopped at")
expect(len(early_history["loss"]) == len(alone.history["loss"]) < 50, f"EarlyStopping stops as in one process: {len(early_history['loss'])}")
say(f"OK a stop on rank 1 ends every rank after epoch 3; EarlyStopping stops every rank after epoch {len(early_history['loss'])}, as one process")

X_bad = X.copy()
X_bad[-40:] = 1e200  # rows of the last rank's share of the last batch: their squared error overflows
linear = mk.Sequential(seed=0, dtype="float64")
linear.add("flatten", input_size=(8, 8))
linear.add("dense", units=1)
linear.compile("mse", optimizer="sgd")
nan = TerminateOnNaN()
stopped = linear.fit(X_bad, y[:, None], epochs=5, batch_size=100, shuffle=False, verbose=0, strategy="mpi", callbacks=[nan]).history
same_on_every_rank(len(stopped["loss"]), "the epoch TerminateOnNaN stopped at")
expect(len(stopped["loss"]) == 1, f"TerminateOnNaN stops every rank in the first epoch: {stopped}")
say("OK TerminateOnNaN stops every rank in the same epoch")
done()
