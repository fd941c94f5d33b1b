"""A multilayer perceptron on the digits, as the Keras MNIST MLP example writes it."""

import numpy as np

import minikeras_core as keras
from minikeras_core import layers

keras.utils.set_random_seed(42)

# Data: the 8x8 digits shipped with Mini-Keras (Keras's example downloads MNIST).
(x, y) = keras.datasets.load_digits()
x = x.reshape(len(x), 64).astype("float32") / 16.0
order = np.random.default_rng(0).permutation(len(x))
x, y = x[order], y[order]
x_train, y_train, x_test, y_test = x[:1500], y[:1500], x[1500:], y[1500:]

model = keras.Sequential(
    [
        keras.Input(shape=(64,)),
        layers.Dense(64, activation="relu"),
        layers.Dropout(0.2),
        layers.Dense(64, activation="relu"),
        layers.Dense(10, activation="softmax"),
    ]
)
model.summary()

model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
history = model.fit(x_train, y_train, batch_size=32, epochs=20, validation_split=0.1, verbose=2)

score = model.evaluate(x_test, y_test, verbose=0)
print("Test loss:", score[0])
print("Test accuracy:", score[1])
