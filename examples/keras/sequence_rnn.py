"""Classifying variable-length sequences with a SimpleRNN, padded as the Keras text examples pad them."""

import numpy as np

import minikeras_core as keras
from minikeras_core import layers

keras.utils.set_random_seed(42)

# Data: sequences of 1 to 20 numbers; the label says whether their sum is positive.
rng = np.random.default_rng(3)
sequences = [list(rng.normal(size=rng.integers(1, 21))) for _ in range(800)]
labels = np.array([float(sum(s) > 0) for s in sequences], dtype="float32")
x = keras.utils.pad_sequences(sequences, maxlen=20, dtype="float32", padding="pre")
x = x[..., np.newaxis]  # (samples, timesteps, features)
x_train, y_train, x_val, y_val = x[:700], labels[:700], x[700:], labels[700:]

model = keras.Sequential()
model.add(keras.Input(shape=(20, 1)))
model.add(layers.SimpleRNN(16, activation="tanh"))
model.add(layers.Dense(1, activation="sigmoid"))
model.summary()

model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.005, clipnorm=1.0), loss="binary_crossentropy", metrics=["accuracy"])
model.fit(x_train, y_train, batch_size=32, epochs=15, validation_data=(x_val, y_val), verbose=2)
loss, accuracy = model.evaluate(x_val, y_val)
print("validation accuracy:", accuracy)
