"""Checkpoints, saving and loading, as the TensorFlow "save and load" tutorial writes them."""

import os
import tempfile

import numpy as np

import minikeras_core as keras
from minikeras_core import layers

keras.utils.set_random_seed(42)

(x, y) = keras.datasets.load_digits()
x = x.reshape(len(x), 64).astype("float32") / 16.0
train_images, train_labels, test_images, test_labels = x[:1000], y[:1000], x[1000:], y[1000:]


def create_model():
    model = keras.Sequential([layers.Dense(64, activation="relu", input_shape=(64,)), layers.Dropout(0.2), layers.Dense(10)])
    model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=[keras.metrics.SparseCategoricalAccuracy()])
    return model


workdir = tempfile.mkdtemp()
checkpoint_path = os.path.join(workdir, "training_1", "cp-{epoch:02d}.mk")  # the folder does not exist yet

model = create_model()
cp_callback = keras.callbacks.ModelCheckpoint(filepath=checkpoint_path, save_weights_only=True, verbose=1)
model.fit(train_images, train_labels, epochs=5, validation_data=(test_images, test_labels), callbacks=[cp_callback], verbose=0)
print(sorted(os.listdir(os.path.dirname(checkpoint_path))))

fresh = create_model()
fresh.load_weights(checkpoint_path.format(epoch=5))
loss, acc = fresh.evaluate(test_images, test_labels, verbose=2)
print(f"Restored model, accuracy: {100 * acc:5.2f}%")

model.save(os.path.join(workdir, "my_model.mk"))
new_model = keras.models.load_model(os.path.join(workdir, "my_model.mk"))
np.testing.assert_allclose(new_model.predict(test_images), model.predict(test_images), rtol=1e-6)
new_model.fit(train_images, train_labels, epochs=7, initial_epoch=5, verbose=0)  # training goes on where it stopped
print("after more training:", new_model.evaluate(test_images, test_labels, verbose=0))
