"""Tiny classifiers of the three shapes the understanding commands must handle, and references.

A functional model holding its base as a nested model (as `zoo finetune` makes
them), a flat functional model ending in a softmax Dense layer, and a
Sequential one; each takes raw 32x32 RGB pixels. The reference Grad-CAM is
written independently of the code under test: one image at a time, with the
feature map computed by calling the model's own layers directly.
"""

import keras
import numpy as np
import tensorflow as tf

SIZE = 32
CLASSES = 3


def conv_base(name="base"):
    """Two convolutions and a pooling: a 16x16x16 feature map."""
    inputs = keras.Input((SIZE, SIZE, 3))
    x = keras.layers.Rescaling(1 / 255, name="scale")(inputs)
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="conv1")(x)
    x = keras.layers.MaxPooling2D(name="pool1")(x)
    x = keras.layers.Conv2D(16, 3, padding="same", activation="relu", name="conv2")(x)
    return keras.Model(inputs, x, name=name)


def nested_classifier(seed=1):
    """Input -> base (nested) -> pooling -> logits -> softmax, like a fine-tuned model."""
    keras.utils.set_random_seed(seed)
    base = conv_base()
    inputs = keras.Input((SIZE, SIZE, 3), name="image")
    x = keras.layers.GlobalAveragePooling2D(name="head_pool")(base(inputs))
    x = keras.layers.Dense(CLASSES, name="head_logits")(x)
    outputs = keras.layers.Activation("softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name="nested")


def flat_classifier(seed=2):
    """The same layers flat, ending in a softmax Dense layer."""
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((SIZE, SIZE, 3), name="image")
    x = keras.layers.Rescaling(1 / 255, name="scale")(inputs)
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="conv1")(x)
    x = keras.layers.MaxPooling2D(name="pool1")(x)
    x = keras.layers.Conv2D(16, 3, padding="same", activation="relu", name="conv2")(x)
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    outputs = keras.layers.Dense(CLASSES, activation="softmax", name="predictions")(x)
    return keras.Model(inputs, outputs, name="flat")


def sequential_classifier(seed=3):
    """A Sequential model of the same layers."""
    keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [
            keras.Input((SIZE, SIZE, 3)),
            keras.layers.Rescaling(1 / 255, name="scale"),
            keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="conv1"),
            keras.layers.MaxPooling2D(name="pool1"),
            keras.layers.Conv2D(16, 3, padding="same", activation="relu", name="conv2"),
            keras.layers.GlobalAveragePooling2D(name="gap"),
            keras.layers.Dense(CLASSES, activation="softmax", name="predictions"),
        ],
        name="sequential",
    )


def images(count=4, seed=0):
    """Random raw images, float32 0..255, with a bright square in each."""
    generator = np.random.default_rng(seed)
    batch = generator.uniform(0, 80, (count, SIZE, SIZE, 3)).astype("float32")
    for index in range(count):
        top, left = generator.integers(0, SIZE - 12, 2)
        batch[index, top : top + 12, left : left + 12] = 230.0
    return batch


def reference_grad_cam(features_of, logits_of, image, target):
    """Grad-CAM of one image: `features_of(image batch)`, `logits_of(feature map)`."""
    feature_map = features_of(image[None])
    with tf.GradientTape() as tape:
        tape.watch(feature_map)
        score = logits_of(feature_map)[0, target]
    gradient = tape.gradient(score, feature_map)
    weights = tf.reduce_mean(gradient, axis=(1, 2), keepdims=True)
    cam = tf.nn.relu(tf.reduce_sum(weights * feature_map, axis=-1))
    return tf.image.resize(cam[..., None], image.shape[:2])[0, ..., 0].numpy()


def correlation(first, second):
    """Pearson correlation of two maps."""
    return float(np.corrcoef(np.ravel(first), np.ravel(second))[0, 1])
