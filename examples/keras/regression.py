"""Regression with early stopping, as the TensorFlow "basic regression" tutorial writes it."""

import numpy as np

import minikeras_core as keras
from minikeras_core import layers

keras.utils.set_random_seed(42)

# Data: a smooth function of four features with noise (the tutorial downloads the Auto MPG data).
rng = np.random.default_rng(2)
features = rng.normal(size=(600, 4)).astype("float32")
labels = (2.0 * features[:, 0] - features[:, 1] ** 2 + np.sin(features[:, 2]) + 0.1 * rng.normal(size=600)).astype("float32")
train_features, test_features = features[:500], features[500:]
train_labels, test_labels = labels[:500], labels[500:]


def build_and_compile_model():
    model = keras.Sequential(
        [
            layers.Dense(32, activation="relu", input_shape=(4,)),
            layers.Dense(32, activation="relu"),
            layers.Dense(1),
        ]
    )
    model.compile(loss="mean_absolute_error", optimizer=keras.optimizers.RMSprop(0.005), metrics=["mse"])
    return model


dnn_model = build_and_compile_model()
dnn_model.summary()

history = dnn_model.fit(
    train_features,
    train_labels,
    validation_split=0.2,
    verbose=0,
    epochs=60,
    callbacks=[keras.callbacks.EarlyStopping(monitor="val_loss", patience=8, restore_best_weights=True)],
)
print("epochs run:", len(history.history["loss"]))

test_results = dnn_model.evaluate(test_features, test_labels, verbose=0)
print("Test mean absolute error:", test_results[0])
predictions = dnn_model.predict(test_features).flatten()
print("first predictions:", predictions[:3], "labels:", test_labels[:3])
