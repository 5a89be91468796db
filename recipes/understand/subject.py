"""A classifier being explained: its logits and their gradients, compiled once per shape.

Every gradient is of the target class's logit of each image with respect to
that image's own input or feature map: the per-image scores are summed before
differentiating, and as images do not interact in inference mode (BatchNorm
uses its moving statistics), each image gets exactly the gradient of its own
score. Averaging the gradients over the batch, as a common Keras example
does, would give every image the same weights.
"""

from __future__ import annotations

from typing import Any

from recipes.understand.layers import Tap, find_logits, last_feature_map, logits_function

BATCH = 32
"""Images per forward-and-backward pass."""


class Subject:
    """A Keras classifier with what the explanation methods need.

    Args:
        model: The classifier (raw images in, softmax probabilities out),
            computing in float32.
        layer: Path of the feature map for class activation maps (default:
            the last 4-D feature map).
    """

    def __init__(self, model: Any, layer: str | None = None) -> None:
        import tensorflow as tf

        self.model = model
        self.target_kind = find_logits(model).kind
        self._layer = layer
        self._tap: Tap | None = None
        run_logits = logits_function(model)
        height, width, channels = model.inputs[0].shape[1:]
        images = tf.TensorSpec((None, height, width, channels), tf.float32)
        targets = tf.TensorSpec((None,), tf.int32)

        @tf.function(input_signature=[images])
        def logits(batch: Any) -> Any:
            return run_logits(batch)

        @tf.function(input_signature=[images, targets])
        def input_gradients(batch: Any, target: Any) -> tuple[Any, Any]:
            with tf.GradientTape() as tape:
                tape.watch(batch)
                scores = tf.gather(run_logits(batch), target, batch_dims=1)
            return tape.gradient(scores, batch), scores

        self.logits = logits
        self.input_gradients = input_gradients
        self._feature_gradients: Any = None
        self._images_spec, self._targets_spec = images, targets

    @property
    def layer(self) -> str:
        """Path of the feature map the class activation maps use."""
        if self._layer is None:
            self._layer = last_feature_map(self.model)
        return self._layer

    @property
    def tap(self) -> Tap:
        """The model run returning the feature map too.

        Raises:
            UsageError: The layer is unknown or its output is not a 4-D map.
        """
        from zoo.errors import UsageError

        if self._tap is None:
            tap = Tap(self.model, self.layer)
            if not tap.info.is_feature_map:
                raise UsageError(
                    f"Layer {self.layer} has output shape {tap.info.shape}; class activation "
                    "maps need a 4-D feature map (batch, height, width, channels). Leave "
                    "--layer out for the last one."
                )
            self._tap = tap
        return self._tap

    def feature_gradients(self, images: Any, targets: Any) -> tuple[Any, Any]:
        """The feature map and the gradient of each image's target logit with respect to it.

        Args:
            images: float32 `[N, H, W, C]`.
            targets: int32 `[N]` class indices.

        Returns:
            `(features, gradients)`, both `[N, h, w, k]`.
        """
        import tensorflow as tf

        if self._feature_gradients is None:
            tap = self.tap

            @tf.function(input_signature=[self._images_spec, self._targets_spec])
            def feature_gradients(batch: Any, target: Any) -> tuple[Any, Any]:
                with tf.GradientTape() as tape:
                    features, logits = tap(batch)
                    scores = tf.gather(logits, target, batch_dims=1)
                return features, tape.gradient(scores, features)

            self._feature_gradients = feature_gradients
        return self._feature_gradients(images, targets)

    def features(self, images: Any) -> Any:
        """The feature map of a batch (no gradient)."""
        return self.tap(images)[0]

    def probabilities(self, images: Any) -> Any:
        """Class probabilities of a batch, numpy `[N, classes]`, in batches of `BATCH`."""
        import numpy as np
        import tensorflow as tf

        chunks = []
        for start in range(0, len(images), BATCH):
            values = self.logits(images[start : start + BATCH])
            chunks.append(
                (tf.nn.softmax(values) if self.target_kind == "logits" else values).numpy()
            )
        return np.concatenate(chunks) if chunks else np.zeros((0, 0), "float32")


def upsample(maps: Any, size: tuple[int, int]) -> Any:
    """Bilinear resize of `[N, h, w]` maps to the input's `(height, width)`; numpy out."""
    import tensorflow as tf

    return tf.image.resize(maps[..., None], size, method="bilinear")[..., 0].numpy()
