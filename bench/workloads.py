"""The benchmark's workloads: the same model in Mini-Keras and in PyTorch, on the same synthetic data.

Each workload builds its Mini-Keras model by registered names only (so a missing plugin is found
by name, and reported), and, when PyTorch is installed, the closest equivalent ``nn.Sequential``.
Data are float32, generated from a fixed seed in Mini-Keras's batch-first, channels-last layout;
PyTorch receives the same numbers, transposed to its channels-first layout for images.
Targets are learnable (a random linear "teacher" picks each class), so a smoke run can check
that the loss falls.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

import minikeras_core as mk

# What each optimizer name means in each framework (Keras's default rates; speed does not depend on them).
OPTIMIZERS = {"adam": 1e-3, "sgd": 0.01}


@dataclass
class Workload:
    """One benchmark model: its sizes, the plugins it needs and its builders in both frameworks."""

    name: str
    description: str
    batch: int
    train_samples: int  # size of the training set
    epochs: int  # epochs over it per timed round
    predict_samples: int  # samples per timed prediction
    layers: tuple[str, ...]  # layer plugins the Mini-Keras model needs
    optimizer: str
    build_minikeras: Callable[[int], mk.Sequential]  # seed -> uncompiled model
    build_torch: Callable[[], tuple]  # -> (module, loss function, predict head)
    make_data: Callable[[int, int], tuple[np.ndarray, np.ndarray]]  # (n, seed) -> (X, y)
    loss: str = "categorical_cross_entropy"
    learning_rate: float = 0.01
    notes: list[str] = field(default_factory=list)

    def minikeras_model(self, seed: int = 0) -> mk.Sequential:
        """The compiled Mini-Keras model."""
        model = self.build_minikeras(seed)
        model.compile(self.loss, optimizer=mk.get("optimizer", self.optimizer, learning_rate=self.learning_rate))
        return model

    def torch_model(self, seed: int = 0) -> tuple:
        """``(module, loss_fn, optimizer, predict_head)`` in PyTorch (float32)."""
        import torch

        torch.manual_seed(seed)
        net, loss_fn, head = self.build_torch()
        kind = torch.optim.Adam if self.optimizer == "adam" else torch.optim.SGD
        return net, loss_fn, kind(net.parameters(), lr=self.learning_rate), head

    def missing_plugins(self) -> list[str]:
        """The registered names this workload needs that are not installed."""
        installed = mk.list_plugins()
        wanted = [("layer", n) for n in self.layers] + [("optimizer", self.optimizer)]
        return [name for kind, name in wanted if name not in installed[kind]]


# -- data ---------------------------------------------------------------------------------------
def teacher_data(shape: tuple, classes: int, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``X`` uniform in [0, 1) of shape ``(n, *shape)`` (float32) and one-hot targets from a random linear teacher."""
    rng = np.random.default_rng(seed)
    X = rng.random((n, *shape), dtype=np.float32)
    teacher = rng.standard_normal((int(np.prod(shape)), classes)).astype(np.float32)
    flat = X.reshape(n, -1)
    labels = np.argmax((flat - flat.mean(axis=0)) @ teacher, axis=1)
    return X, np.eye(classes, dtype=np.float32)[labels]


def seed_data(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The original example's data (digits 0 and 1, scaled by 1/16, ``(n, 8, 8, 1)``), repeated to ``n`` samples."""
    from minikeras_core.demo import original_example_data

    X, y = original_example_data()
    index = np.resize(np.random.default_rng(seed).permutation(len(X)), n)
    return X[index].astype(np.float32), y[index].astype(np.float32)


def review_data(n: int, seed: int, vocabulary: int = 10_000, steps: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """IMDB-like reviews: ``n`` sequences of ``steps`` word ids in ``[1, vocabulary)`` (float32 holding integers, as
    Keras programs feed them) and a sentiment in {0, 1}: whether the review's words lean to the "positive" half."""
    rng = np.random.default_rng(seed)
    lean = rng.random(n) < 0.5
    low = rng.integers(1, vocabulary // 2, (n, steps))
    high = rng.integers(vocabulary // 2, vocabulary, (n, steps))
    pick_high = rng.random((n, steps)) < np.where(lean, 0.65, 0.35)[:, None]
    X = np.where(pick_high, high, low).astype(np.float32)
    return X, lean.astype(np.float32)[:, None]


# -- Mini-Keras models (uncompiled; Workload.minikeras_model compiles them) -------------------------

def mk_mlp(seed: int) -> mk.Sequential:
    model = mk.Sequential(seed=seed, dtype="float32")
    model.add("dense", units=256, activation="relu", input_size=(784,))
    model.add("dense", units=128, activation="relu")
    model.add("dense", units=10, activation="softmax")
    return model


def mk_cnn(seed: int) -> mk.Sequential:
    model = mk.Sequential(seed=seed, dtype="float32")
    model.add("conv2d", ksize=3, stride=1, padding=0, activation="relu", filters=32, input_size=(28, 28, 1))
    model.add("maxpool2d", ksize=2, stride=2, padding=0)
    model.add("conv2d", ksize=3, stride=1, padding=0, activation="relu", filters=64)
    model.add("maxpool2d", ksize=2, stride=2, padding=0)
    model.add("flatten")
    model.add("dense", units=128, activation="relu")
    model.add("dense", units=10, activation="softmax")
    return model


def mk_rnn(seed: int) -> mk.Sequential:
    # output_units=10 with softmax on the last step is exactly PyTorch's RNN -> last output -> Linear(64, 10):
    # one hidden-to-output projection, applied to the last hidden state only.
    model = mk.Sequential(seed=seed, dtype="float32")
    model.add("basic_rnn", output_units=10, hidden_units=64, activation="softmax", input_size=(32, 16),
              hidden_activation="tanh", return_sequences=False)
    return model


def mk_cnn_bn(seed: int) -> mk.Sequential:
    model = mk.Sequential(seed=seed, dtype="float32")
    model.add("conv2d", filters=32, kernel_size=3, activation="relu", input_shape=(28, 28, 1))
    model.add("batch_normalization")
    model.add("max_pooling2d", pool_size=2)
    model.add("conv2d", filters=64, kernel_size=3, activation="relu")
    model.add("batch_normalization")
    model.add("max_pooling2d", pool_size=2)
    model.add("global_average_pooling2d")
    model.add("dense", units=128, activation="relu")
    model.add("dense", units=10, activation="softmax")
    return model


def mk_lstm(seed: int) -> mk.Sequential:
    model = mk.Sequential(seed=seed, dtype="float32")
    model.add("embedding", input_dim=10_000, output_dim=64, input_shape=(100,))
    model.add("lstm", units=64)
    model.add("dense", units=1, activation="sigmoid")
    return model


def mk_seed(seed: int) -> mk.Sequential:
    model = mk.Sequential(seed=seed, dtype="float32")
    model.add("conv2d", ksize=3, stride=1, padding=0, activation="sigmoid", filters=1, input_size=(8, 8, 1))
    model.add("maxpool2d", ksize=2, stride=1, padding=0)
    model.add("conv2d", ksize=2, stride=1, padding=0, activation="sigmoid", filters=1)
    model.add("flatten")
    model.add("dense", units=1, activation="sigmoid")
    return model


def mk_seed_dense(seed: int) -> mk.Sequential:
    # `minikeras demo`'s stand-in for the original model while Conv2D is not installed.
    model = mk.Sequential(seed=seed, dtype="float32")
    model.add("flatten", input_size=(8, 8, 1))
    model.add("dense", units=4, activation="sigmoid")
    model.add("dense", units=1, activation="sigmoid")
    return model


# -- PyTorch models ---------------------------------------------------------------------------------
def _torch():
    import torch
    from torch import nn

    return torch, nn


def torch_mlp():
    torch, nn = _torch()
    net = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10))
    # Softmax + cross-entropy as PyTorch users write it: logits into CrossEntropyLoss; predict adds the softmax.
    return net, nn.CrossEntropyLoss(), lambda out: torch.softmax(out, dim=1)


def torch_cnn():
    torch, nn = _torch()
    net = nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2, 2),
        nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2, 2),
        nn.Flatten(), nn.Linear(64 * 5 * 5, 128), nn.ReLU(), nn.Linear(128, 10),
    )
    return net, nn.CrossEntropyLoss(), lambda out: torch.softmax(out, dim=1)


def torch_rnn():
    torch, nn = _torch()

    class LastStep(nn.Module):
        """Keep the RNN's output at the last time step, as return_sequences=False does."""

        def forward(self, pair):
            return pair[0][:, -1]

    net = nn.Sequential(nn.RNN(16, 64, nonlinearity="tanh", batch_first=True), LastStep(), nn.Linear(64, 10))
    return net, nn.CrossEntropyLoss(), lambda out: torch.softmax(out, dim=1)


def torch_cnn_bn():
    torch, nn = _torch()
    net = nn.Sequential(  # BatchNorm as Keras's: momentum 0.99 there is 0.01 here, epsilon 1e-3
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.BatchNorm2d(32, eps=1e-3, momentum=0.01), nn.MaxPool2d(2, 2),
        nn.Conv2d(32, 64, 3), nn.ReLU(), nn.BatchNorm2d(64, eps=1e-3, momentum=0.01), nn.MaxPool2d(2, 2),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10),
    )
    return net, nn.CrossEntropyLoss(), lambda out: torch.softmax(out, dim=1)


def torch_lstm():
    torch, nn = _torch()

    class Ids(nn.Module):
        """Word ids arrive as float32 (the same array Mini-Keras gets); the embedding takes int64."""

        def forward(self, x):
            return x.long()

    class LastStep(nn.Module):
        def forward(self, pair):
            return pair[0][:, -1]

    net = nn.Sequential(Ids(), nn.Embedding(10_000, 64), nn.LSTM(64, 64, batch_first=True), LastStep(), nn.Linear(64, 1))
    # the sigmoid folded into the loss as PyTorch users write it; predict adds it
    return net, nn.BCEWithLogitsLoss(), lambda out: torch.sigmoid(out)


def torch_seed():
    torch, nn = _torch()
    net = nn.Sequential(
        nn.Conv2d(1, 1, 3), nn.Sigmoid(), nn.MaxPool2d(2, 1), nn.Conv2d(1, 1, 2), nn.Sigmoid(),
        nn.Flatten(), nn.Linear(16, 1), nn.Sigmoid(),
    )
    return net, nn.BCELoss(), lambda out: out


def torch_seed_dense():
    torch, nn = _torch()
    net = nn.Sequential(nn.Flatten(), nn.Linear(64, 4), nn.Sigmoid(), nn.Linear(4, 1), nn.Sigmoid())
    return net, nn.BCELoss(), lambda out: out


def workloads(optimizer: str = "adam", seed_model: str = "conv", scale: float = 1.0) -> dict[str, Workload]:
    """The six workloads; ``optimizer`` replaces Adam (mlp, cnn, rnn, lstm, cnn_bn), ``seed_model="dense"`` uses the demo's stand-in.

    ``scale`` shrinks the timed work (``--quick``): fewer training samples, or fewer epochs for ``seed``.
    """

    def n(count: int, batch: int) -> int:
        return max(batch, int(round(count * scale / batch)) * batch)

    lr = OPTIMIZERS[optimizer]
    notes = [] if optimizer == "adam" else [f"optimizer {optimizer} instead of adam (--optimizer {optimizer})"]
    dense_seed = seed_model == "dense"
    return {
        "mlp": Workload(
            "mlp", "784-256-128-10 ReLU, Softmax + CCE, batch 128", 128, n(128 * 40, 128), 1, 6400,
            ("dense",), optimizer, mk_mlp, torch_mlp,
            lambda count, s: teacher_data((784,), 10, count, s), learning_rate=lr, notes=list(notes)),
        "cnn": Workload(
            "cnn", "28x28x1: Conv 32 3x3, Pool 2, Conv 64 3x3, Pool 2, Dense 128, Dense 10; batch 64", 64,
            n(64 * 16, 64), 1, 6400, ("conv2d", "maxpool2d", "flatten", "dense"), optimizer, mk_cnn, torch_cnn,
            lambda count, s: teacher_data((28, 28, 1), 10, count, s), learning_rate=lr, notes=list(notes)),
        "rnn": Workload(
            "rnn", "32 steps x 16 features, RNN 64 tanh, last step -> Dense 10 softmax; batch 64", 64,
            n(64 * 40, 64), 1, 6400, ("basic_rnn",), optimizer, mk_rnn, torch_rnn,
            lambda count, s: teacher_data((32, 16), 10, count, s), learning_rate=lr, notes=list(notes)),
        "lstm": Workload(
            "lstm", "IMDB-like: Embedding 10,000 x 64, LSTM 64, Dense 1 sigmoid; 100 ids per sequence; batch 64", 64,
            n(64 * 16, 64), 1, 3200, ("embedding", "lstm", "dense"), optimizer, mk_lstm, torch_lstm, review_data,
            loss="binary_cross_entropy", learning_rate=lr, notes=list(notes)),
        "cnn_bn": Workload(
            "cnn_bn", "the cnn with BatchNormalization after each Conv and GlobalAveragePooling2D for Flatten; batch 64", 64,
            n(64 * 16, 64), 1, 6400, ("conv2d", "batch_normalization", "max_pooling2d", "global_average_pooling2d", "dense"),
            optimizer, mk_cnn_bn, torch_cnn_bn, lambda count, s: teacher_data((28, 28, 1), 10, count, s),
            learning_rate=lr, notes=list(notes)),
        "seed": Workload(
            "seed",
            "original example on digits 0/1 (360 samples), batch 300, gradient descent, 100 epochs per fit"
            + (" (Dense stand-in: Flatten, Dense 4, Dense 1)" if dense_seed else " (Conv 3x3, Pool 2/1, Conv 2x2, Dense 1)"),
            300, 360, max(1, round(100 * scale)), 3600,
            ("flatten", "dense") if dense_seed else ("conv2d", "maxpool2d", "flatten", "dense"), "sgd",
            mk_seed_dense if dense_seed else mk_seed, torch_seed_dense if dense_seed else torch_seed,
            seed_data, loss="binary_cross_entropy", learning_rate=0.3,
            notes=["Dense stand-in for the original Conv2D model (--seed-model dense)"] if dense_seed else []),
    }
