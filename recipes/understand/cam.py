"""Class activation maps: Grad-CAM, Grad-CAM++ and Score-CAM on a layer's feature map.

Each takes the feature map `A` (`[N, h, w, k]`) of a batch and weighs its
channels for each image's target class, then keeps the positive part of the
weighted sum and resizes it to the input's size:

- Grad-CAM (Selvaraju et al. 2017): weights are the spatial mean of the
  gradient of the target logit with respect to `A`.
- Grad-CAM++ (Chattopadhay et al. 2018): weights are the positive gradients
  summed with pixel-wise factors `g^2 / (2 g^2 + sum(A) g^3)`, the closed form
  the paper derives for an exponential score; one backward pass, like Grad-CAM.
- Score-CAM (Wang et al. 2020): no gradient; each channel, resized and scaled
  to 0..1, masks the input, and the softmax over channels of the target
  logits of the masked inputs gives the weights. With more channels than
  `SCORECAM_CHANNELS`, those of largest variance are used (Faster Score-CAM).
"""

from __future__ import annotations

from typing import Any

from recipes.understand.subject import BATCH, Subject, upsample

SCORECAM_CHANNELS = 256
"""Most channels Score-CAM masks the input with (each costs a forward pass per image)."""


def grad_cam(subject: Subject, images: Any, targets: Any) -> Any:
    """Grad-CAM maps, `[N, H, W]`, non-negative."""
    import tensorflow as tf

    features, gradients = subject.feature_gradients(images, targets)
    weights = tf.reduce_mean(gradients, axis=(1, 2), keepdims=True)
    maps = tf.nn.relu(tf.reduce_sum(weights * features, axis=-1))
    return upsample(maps, images.shape[1:3])


def grad_cam_plus_plus(subject: Subject, images: Any, targets: Any) -> Any:
    """Grad-CAM++ maps, `[N, H, W]`, non-negative."""
    import tensorflow as tf

    features, gradients = subject.feature_gradients(images, targets)
    squared = tf.square(gradients)
    cubed = squared * gradients
    total = tf.reduce_sum(features, axis=(1, 2), keepdims=True)
    denominator = 2.0 * squared + total * cubed
    safe = tf.where(denominator != 0.0, denominator, tf.ones_like(denominator))
    alphas = tf.where(denominator != 0.0, squared / safe, tf.zeros_like(denominator))
    weights = tf.reduce_sum(alphas * tf.nn.relu(gradients), axis=(1, 2), keepdims=True)
    maps = tf.nn.relu(tf.reduce_sum(weights * features, axis=-1))
    return upsample(maps, images.shape[1:3])


def score_cam(subject: Subject, images: Any, targets: Any) -> Any:
    """Score-CAM maps, `[N, H, W]`, non-negative."""
    import numpy as np
    import tensorflow as tf

    size = images.shape[1:3]
    features = subject.features(images).numpy()
    maps = []
    for image, activation, target in zip(images, features, targets, strict=True):
        channels = _strongest_channels(activation, SCORECAM_CHANNELS)
        masks = upsample(np.moveaxis(activation[..., channels], -1, 0), size)
        low = masks.min(axis=(1, 2), keepdims=True)
        spread = masks.max(axis=(1, 2), keepdims=True) - low
        masks = np.where(spread > 0, (masks - low) / np.where(spread > 0, spread, 1), 0.0)
        scores = []
        for start in range(0, len(masks), BATCH):
            masked = image[None] * masks[start : start + BATCH, :, :, None]
            scores.append(subject.logits(masked.astype("float32")).numpy()[:, target])
        weights = tf.nn.softmax(np.concatenate(scores)).numpy()
        cam = np.tensordot(activation[..., channels], weights, axes=([-1], [0]))
        maps.append(np.maximum(cam, 0.0))
    return upsample(np.stack(maps).astype("float32"), size)


def _strongest_channels(activation: Any, limit: int) -> Any:
    """Indices of the channels of largest spatial variance (all, when few), in order."""
    import numpy as np

    variance = activation.reshape(-1, activation.shape[-1]).var(axis=0)
    if len(variance) <= limit:
        return np.arange(len(variance))
    return np.sort(np.argsort(-variance, kind="stable")[:limit])
