"""A small convnet on the digits, as the Keras "simple MNIST convnet" example writes it."""

import numpy as np

import minikeras_core as keras
from minikeras_core import layers

keras.utils.set_random_seed(42)

num_classes = 10
input_shape = (8, 8, 1)

# Data: the 8x8 digits shipped with Mini-Keras (Keras's example downloads MNIST).
(x, y) = keras.datasets.load_digits()
x = x.astype("float32") / 16.0
x = np.expand_dims(x, -1)
order = np.random.default_rng(1).permutation(len(x))
x, y = x[order], y[order]
x_train, y_train, x_test, y_test = x[:1500], y[:1500], x[1500:], y[1500:]
print("x_train shape:", x_train.shape)

y_train = keras.utils.to_categorical(y_train, num_classes)
y_test = keras.utils.to_categorical(y_test, num_classes)

model = keras.Sequential()
model.add(layers.Conv2D(16, (3, 3), activation="relu", padding="same", input_shape=input_shape))
model.add(layers.MaxPooling2D(pool_size=(2, 2)))
model.add(layers.Conv2D(32, kernel_size=(3, 3), activation="relu"))
model.add(layers.Flatten())
model.add(layers.Dropout(0.5))
model.add(layers.Dense(num_classes, activation="softmax"))
model.summary()

model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
model.fit(x_train, y_train, batch_size=64, epochs=8, validation_split=0.1, verbose=2)

score = model.evaluate(x_test, y_test, verbose=0)
print("Test loss:", score[0])
print("Test accuracy:", score[1])
