"""The original Mini-Keras README example, run as written: only its import lines are changed."""

from __future__ import annotations

import re

from minikeras_core.demo import original_example_data


def test_original_readme_example_runs_and_its_loss_goes_down(capsys) -> None:
    X, y = original_example_data()  # the original run.py's data: digits 0 and 1, (360, 8, 8, 1) and (360, 1)

    # --- the README's example; its imports are replaced by these lines ---
    from minikeras_core import Sequential
    from minikeras_core.registry import REGISTRY

    Dense, Conv2D, MaxPool2D, Flatten = (REGISTRY.resolve("layer", n) for n in ("dense", "conv2d", "maxpool2d", "flatten"))
    BinaryCrossEntropy = REGISTRY.resolve("loss", "binary_cross_entropy")
    Sigmoid = REGISTRY.resolve("activation", "sigmoid")
    GradientDescentOptimizer = REGISTRY.resolve("optimizer", "gradient_descent")
    # --- from here on, exactly as the README wrote it ---

    model = Sequential()
    model.add(Conv2D, ksize=3, stride=1, activation=Sigmoid(), input_size=(8,8,1), filters=1, padding=0)
    model.add(MaxPool2D, ksize=2, stride=1, padding=0)
    model.add(Conv2D, ksize=2, stride=1, activation=Sigmoid(), filters=1, padding=0)
    model.add(Flatten)
    model.add(Dense, units=1, activation=Sigmoid())
    model.summary()

    model.compile(BinaryCrossEntropy())

    print("Initial Loss", model.evaluate(X, y)[0])
    model.fit(X, y, n_epochs=100, batch_size=300, learning_rate=0.003, optimizer=GradientDescentOptimizer(), verbose=1)
    print("Final Loss", model.evaluate(X, y)[0])

    out = capsys.readouterr().out
    assert "Total params: 32" in out  # 3x3 kernel + bias, 2x2 kernel + bias, 16 weights + bias
    assert out.count("Epoch ") == 100
    initial = float(re.search(r"Initial Loss (\S+)", out).group(1))
    final = float(re.search(r"Final Loss (\S+)", out).group(1))
    # learning rate 0.003 moves little in 100 epochs, as in the original: the loss goes down, slightly
    assert final < initial


def test_minikeras_demo_prints_the_run_and_exits_zero_when_the_loss_went_down(capsys) -> None:
    from minikeras_core.cli import main

    assert main(["demo", "--epochs", "20"]) == 0
    out = capsys.readouterr().out
    for expected in ("conv2d (Conv2D)", "max_pool2d (MaxPool2D)", "Total params: 32", "Initial loss", "Epoch 20/20", "Final loss", "accuracy"):
        assert expected in out
