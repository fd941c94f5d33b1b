"""Under mpiexec: an error on one rank ends the whole job within seconds, the error shown; never a hang.

Usage: ``mpiexec -n 2 python failure.py CASE`` with CASE one of
``callback`` (rank 1's callback raises in the second epoch, while rank 0 would train for 10,000 epochs),
``lengths`` (rank 1 has one sample fewer), ``model`` (rank 1's hidden layer is wider).
"""

import sys

from _common import RANK, digits, model, say

import minikeras_core as mk
from minikeras_core.callbacks import Callback

case = sys.argv[1]
X, y = digits(200)


class FailOnRank1(Callback):
    def on_epoch_end(self, model, epoch, logs):
        if RANK == 1 and epoch == 1:
            raise RuntimeError("rank 1 fails on purpose in epoch 2")


if case == "callback":
    model().fit(X, y, epochs=10_000, batch_size=50, verbose=0, strategy="mpi", callbacks=[FailOnRank1()])
elif case == "lengths":
    n = len(X) - (RANK == 1)
    model().fit(X[:n], y[:n], epochs=1, verbose=0, strategy="mpi")
elif case == "model":
    wider = model()
    if RANK == 1:
        wider = mk.Sequential(seed=0, dtype="float64")
        wider.add("flatten", input_size=(8, 8))
        wider.add("dense", units=17, activation="tanh")
        wider.add("dense", units=10, activation="softmax")
        wider.compile("sparse_categorical_crossentropy", optimizer="adam")
    wider.fit(X, y, epochs=1, verbose=0, strategy="mpi")
say("NOT REACHED: the job should have failed")
