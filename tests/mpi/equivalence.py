"""N ranks train as one process with the same global batch: every optimizer, uneven shares, a CNN, an RNN, Dropout.

Every rank trains the model twice: through the ``mpi`` strategy (rank 1 starting from other
weights, which rank 0's replace) and alone without a strategy, and compares weights, History,
``evaluate`` and ``predict``. The History must be identical on every rank, and each step must
sum the gradients with one all-reduce of the flat buffer.
"""

from _common import (
    RANK,
    SIZE,
    STRATEGY,
    TOLERANCE,
    digits,
    done,
    expect,
    gap,
    history_gap,
    model,
    same_on_every_rank,
    say,
)
from minikeras_mpi import MPIStrategy

import minikeras_core as mk
from minikeras_core.hooks import hookimpl
from minikeras_core.registry import REGISTRY

X, y = digits(300)  # 240 training samples in batches of 50: the last of 40; 60 for validation


def compare(label: str, kind: str, optimizer: str, batch_size: int = 50, epochs: int = 2, arguments: dict | None = None,
            **options) -> None:
    """Train ``kind`` with ``optimizer`` (a name; ``arguments`` for it) both ways and compare."""
    optimizer, dropout = (optimizer, arguments or {}), options.pop("dropout", 0.0)
    settings = {"epochs": epochs, "batch_size": batch_size, "validation_split": 0.2, "seed": 3, "verbose": 0, **options}
    inputs = X[..., None] if kind == "cnn" else X
    alone = model(kind, optimizer, dropout=dropout)
    expected = alone.fit(inputs, y, **settings).history
    ranked = model(kind, optimizer, seed=RANK, dropout=dropout)
    history = ranked.fit(inputs, y, strategy="mpi", **settings).history
    figures = ranked.evaluate(inputs, y, batch_size=64, strategy="mpi")
    predictions = ranked.predict(inputs, batch_size=64, strategy="mpi")
    worst = max(gap(ranked.get_weights(), alone.get_weights()), history_gap(history, expected),
                gap(figures, alone.evaluate(inputs, y)), gap([predictions], [alone.predict(inputs)]))
    expect(predictions.shape == (len(X), 10), f"{label}: predict gives every rank all {len(X)} predictions, got {predictions.shape}")
    expect(worst < TOLERANCE, f"{label}: {SIZE} ranks differ from one process by {worst:.3g}")
    same_on_every_rank(history, f"{label}: the History")
    say(f"OK {label}: {SIZE} ranks = 1 process to {worst:.2g}; History identical on every rank")


optimizers = sorted({REGISTRY.name_of(REGISTRY.resolve("optimizer", name)) for name in mk.list_plugins()["optimizer"]})
for name in optimizers:
    compare(f"mlp {name}", "mlp", name)
compare("mlp sgd, batch 37 (uneven shares 19/18)", "mlp", "sgd", batch_size=37)
compare("mlp rmsprop, batch 7", "mlp", "rmsprop", batch_size=7, epochs=1)
compare("mlp adam, clipnorm (gradients as separate arrays)", "mlp", "adam", arguments={"clipnorm": 0.5})
compare("mlp adam with Dropout", "mlp", "adam", dropout=0.25)
compare("cnn adam", "cnn", "adam")
compare("rnn adam", "rnn", "adam")


class Counted(MPIStrategy):
    """Records what each step's gradient hook all-reduces."""

    calls: list = []

    @hookimpl
    def on_gradients_ready(self, model, grads):
        Counted.calls.append([grad.size for grad in grads])
        super().on_gradients_ready(model, grads)


counted = model("mlp", "adam")
with mk.distribute(Counted()):  # the block form, with an instance
    counted.fit(X, y, batch_size=50, epochs=2, verbose=0)
parameters = sum(w.size for w in counted.get_weights())
expect(Counted.calls == [[parameters]] * 12, f"one all-reduce of the flat buffer ({parameters} numbers) per step, 12 steps: {Counted.calls}")
say(f"OK one all-reduce per step: {len(Counted.calls)} steps, each one buffer of {parameters} numbers")
expect(STRATEGY.rank == RANK and SIZE >= 2, "run under mpiexec -n 2 or more")
done()
