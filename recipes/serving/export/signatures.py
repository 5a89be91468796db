"""The exported SavedModel: its serving signatures, and writing it with Keras' ExportArchive.

- `serving_default`: `image_bytes`, a batch of encoded JPEG/PNG/GIF/BMP
  strings. Decoding and resizing (the training pipeline's own decoder,
  rounded as the pipeline stores it) and the model's preprocessing run inside
  the graph, so TF Serving's REST `{"b64": ...}` inputs work as they are.
  Each image's pixel count is read from its header and checked against the
  export's limit before it is decoded (`pixel_limit`); the limit is recorded
  in `assets.extra/zoo.json`, where `zoo serve` reads it.
- `serving_images`: `images`, a float32 batch `[None, H, W, C]` of raw 0..255
  pixels, and `serving_images_uint8`, the same as uint8.

Every signature returns `probabilities` (float32, batch x classes), `classes`
(top-1 class names), `top_k_classes` and `top_k_probabilities`; the class
names are read in the graph from the `class_names.txt` asset.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from recipes.data.noise import quiet_loggers
from recipes.run.trained import TrainedModel
from recipes.serving.export.pixel_limit import checked_pixels

CLASS_NAMES_ASSET = "class_names.txt"
DEFAULT_SIGNATURE = "serving_default"
IMAGES_SIGNATURE = "serving_images"
UINT8_SIGNATURE = "serving_images_uint8"
OUTPUTS = ("probabilities", "classes", "top_k_classes", "top_k_probabilities")
LIMITS_FILE = "assets.extra/zoo.json"
"""The export's limits (`max_pixels`), beside the SavedModel; TF Serving ignores it."""


def read_limits(version_dir: Path) -> dict[str, int]:
    """The limits an export recorded (`{}` for an export that recorded none)."""
    try:
        limits = json.loads((version_dir / LIMITS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {key: value for key, value in limits.items() if type(value) is int and value > 0}


def _signature_functions(
    trained: TrainedModel, names_table: Any, top_k: int, max_pixels: int
) -> dict[str, Any]:
    """The serving functions, each a `tf.function` with a fixed input signature."""
    import tensorflow as tf

    from recipes.run.images import decode_for_model

    model = trained.model
    height, width = trained.input_size
    channels = trained.channels
    image_shape = (height, width, channels)

    # One traced function for the model, called by all three signatures: the
    # model's graph is traced once, not once per signature.
    @tf.function(input_signature=[tf.TensorSpec((None, *image_shape), tf.float32)])
    def classify(images: tf.Tensor) -> dict[str, tf.Tensor]:
        probabilities = tf.cast(model(images, training=False), tf.float32)
        top_probabilities, top_indices = tf.math.top_k(probabilities, k=top_k)
        top_indices = tf.cast(top_indices, tf.int64)
        return {
            "probabilities": probabilities,
            "classes": names_table.lookup(top_indices[:, 0]),
            "top_k_classes": names_table.lookup(top_indices),
            "top_k_probabilities": top_probabilities,
        }

    def decode(contents: tf.Tensor) -> tf.Tensor:
        return decode_for_model(checked_pixels(contents, max_pixels), trained)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="image_bytes")])
    def serve_image_bytes(image_bytes: tf.Tensor) -> dict[str, tf.Tensor]:
        images = tf.map_fn(
            decode, image_bytes, fn_output_signature=tf.TensorSpec(image_shape, tf.float32)
        )
        return classify(images)

    @tf.function(input_signature=[tf.TensorSpec((None, *image_shape), tf.float32, name="images")])
    def serve_images(images: tf.Tensor) -> dict[str, tf.Tensor]:
        return classify(images)

    @tf.function(input_signature=[tf.TensorSpec((None, *image_shape), tf.uint8, name="images")])
    def serve_images_uint8(images: tf.Tensor) -> dict[str, tf.Tensor]:
        return classify(tf.cast(images, tf.float32))

    return {
        DEFAULT_SIGNATURE: serve_image_bytes,
        IMAGES_SIGNATURE: serve_images,
        UINT8_SIGNATURE: serve_images_uint8,
    }


def write_saved_model(trained: TrainedModel, directory: Path, top_k: int, max_pixels: int) -> None:
    """Writes the SavedModel with the three serving signatures into `directory`.

    Args:
        trained: The model.
        directory: Where the SavedModel goes (created).
        top_k: How many classes `top_k_classes` returns.
        max_pixels: The most pixels an encoded image may announce.
    """
    import keras
    import tensorflow as tf

    with tempfile.TemporaryDirectory() as scratch:
        # Asset file names are kept, so the staging file needs the final name.
        names_file = Path(scratch) / CLASS_NAMES_ASSET
        names_file.write_text("\n".join(trained.class_names) + "\n", encoding="utf-8")
        names_table = tf.lookup.StaticHashTable(
            tf.lookup.TextFileInitializer(
                str(names_file),
                key_dtype=tf.int64,
                key_index=tf.lookup.TextFileIndex.LINE_NUMBER,
                value_dtype=tf.string,
                value_index=tf.lookup.TextFileIndex.WHOLE_LINE,
            ),
            default_value="",
        )
        # keras' ExportArchive saves only what the endpoints use; saving the
        # Keras object graph itself leaves TFLite with uninitialised variables.
        archive = keras.export.ExportArchive()
        archive.track(trained.model)
        archive.track(names_table)
        functions = _signature_functions(trained, names_table, top_k, max_pixels)
        for signature, function in functions.items():
            function.get_concrete_function()
            archive.add_endpoint(signature, function)
        # TF's "Issue encountered when serializing table_initializer": the lookup
        # table is saved and restored correctly, only a TF1 collection is not.
        with quiet_loggers("tensorflow"):
            archive.write_out(str(directory), verbose=False)
    limits = directory / LIMITS_FILE
    limits.parent.mkdir(exist_ok=True)
    limits.write_text(json.dumps({"max_pixels": max_pixels}) + "\n", encoding="utf-8")


def probabilities_saved_model(trained: TrainedModel, directory: Path) -> None:
    """A SavedModel with one float32 images -> probabilities signature (for converters)."""
    import keras
    import tensorflow as tf

    height, width = trained.input_size
    spec = tf.TensorSpec((None, height, width, trained.channels), tf.float32, name="images")
    model = trained.model

    @tf.function(input_signature=[spec])
    def probabilities(images: tf.Tensor) -> dict[str, tf.Tensor]:
        return {"probabilities": tf.cast(model(images, training=False), tf.float32)}

    probabilities.get_concrete_function()
    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint(IMAGES_SIGNATURE, probabilities)
    archive.write_out(str(directory), verbose=False)
