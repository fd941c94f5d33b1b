"""The original Mini-Keras example on the shipped 8x8 digits, as ``minikeras demo`` runs it."""

from __future__ import annotations

import numpy as np

from .datasets import load_digits
from .model import Sequential


def original_example_data() -> tuple[np.ndarray, np.ndarray]:
    """The original example's data: digits 0 and 1, pixels scaled by 1/16, ``X (360, 8, 8, 1)``, ``y (360, 1)``."""
    X, y = load_digits(n_class=2)
    return (X / 16.0).reshape(-1, 8, 8, 1), y.reshape(-1, 1).astype(np.float64)


def build_original_model(seed: int | None = 0) -> Sequential:
    """The original README's model: Conv2D, MaxPool2D, Conv2D, Flatten, Dense, with binary cross-entropy."""
    model = Sequential(seed=seed)
    model.add("conv2d", ksize=3, stride=1, activation="sigmoid", input_size=(8, 8, 1), filters=1, padding=0)
    model.add("maxpool2d", ksize=2, stride=1, padding=0)
    model.add("conv2d", ksize=2, stride=1, activation="sigmoid", filters=1, padding=0)
    model.add("flatten")
    model.add("dense", units=1, activation="sigmoid")
    model.compile("binary_cross_entropy", optimizer="gradient_descent")
    return model


ORIGINAL_LEARNING_RATE = 0.003


def run(epochs: int = 100, seed: int = 0, verbose: int = 2, learning_rate: float = ORIGINAL_LEARNING_RATE) -> dict:
    """Train the original example (by default with its own learning rate) and print what a newcomer should see."""
    X, y = original_example_data()
    model = build_original_model(seed)
    model.summary()
    initial = model.evaluate(X, y)[0]
    print(f"Initial loss: {initial:.4f}")
    model.fit(X, y, n_epochs=epochs, batch_size=300, learning_rate=learning_rate, verbose=verbose, seed=seed)
    final = model.evaluate(X, y)[0]
    accuracy = float(np.mean((model.predict(X) > 0.5) == (y > 0.5)))
    print(f"Final loss: {final:.4f}  accuracy: {accuracy:.3f}")
    if learning_rate == ORIGINAL_LEARNING_RATE:
        print(
            "That is the original example as written: with its learning rate of 0.003 the loss only starts to fall. "
            "Run `minikeras demo --learning-rate 0.5` to watch the same model reach about 99% accuracy."
        )
    return {"initial_loss": initial, "final_loss": final, "accuracy": accuracy}
