"""One model built two ways, from classes and from strings, with initializer objects and a model inside a model."""

import numpy as np

import minikeras_core as keras
from minikeras_core import initializers, layers

keras.utils.set_random_seed(42)

rng = np.random.default_rng(4)
x = rng.normal(size=(400, 6)).astype("float32")
y = (x[:, :3].sum(axis=1) > 0).astype("int64") + (x[:, 3:].sum(axis=1) > 0).astype("int64")

# Built from classes, with initializer objects.
features = keras.Sequential(
    [
        layers.Dense(16, activation="relu", kernel_initializer=initializers.HeNormal(seed=0), input_shape=(6,)),
        layers.Dense(16, activation="tanh", kernel_initializer=initializers.RandomNormal(stddev=0.1, seed=1)),
    ],
    name="features",
)
by_class = keras.Sequential([features, layers.Activation("relu"), layers.Dense(3), layers.Softmax()])
by_class.compile(optimizer=keras.optimizers.Nadam(learning_rate=0.01), loss=keras.losses.SparseCategoricalCrossentropy(),
                 metrics=[keras.metrics.SparseCategoricalAccuracy()])
by_class.summary()

# Built from strings.
by_string = keras.Sequential()
by_string.add(keras.Input(shape=(6,)))
by_string.add(layers.Dense(16, activation="relu", kernel_initializer="he_normal"))
by_string.add(layers.Dense(16, activation="tanh"))
by_string.add(layers.Dense(3, activation="softmax"))
by_string.compile(optimizer="nadam", loss="sparse_categorical_crossentropy", metrics=["sparse_categorical_accuracy"])

for model in (by_class, by_string):
    model.fit(x, y, epochs=40, batch_size=32, verbose=0)
    print(model.name, "accuracy:", model.evaluate(x, y, verbose=0)[1])
