"""TFLite and ONNX files made from the export, each checked against the Keras model.

String outputs would need TensorFlow ops (Flex) in the TFLite runtime, so both
files return probabilities only (`images` -> `probabilities`); the class names
are in the SavedModel's `assets/class_names.txt`.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from recipes.data.noise import TFLITE_CHATTER, filtered_stderr, quiet_loggers
from recipes.run.trained import TrainedModel
from recipes.serving.export.signatures import IMAGES_SIGNATURE, probabilities_saved_model
from recipes.serving.export.verify import max_diff
from zoo.errors import UsageError, ZooError, first_line


def require_onnx() -> None:
    """Checks that the optional ONNX extra is installed.

    Raises:
        UsageError: tf2onnx or onnxruntime is missing.
    """
    try:
        import onnxruntime  # noqa: F401
        import tf2onnx  # noqa: F401
    except ImportError as error:
        raise UsageError(
            f"--format onnx needs tf2onnx and onnxruntime ({error.name} is missing); "
            "install them with: pip install 'keras-zoo[onnx]'"
        ) from None


def write_tflite(trained: TrainedModel, file: Path, images: Any, expected: Any) -> dict[str, Any]:
    """Converts the model to a float32 TFLite file and checks it with the interpreter."""
    import warnings

    import tensorflow as tf

    # String outputs would need TF ops (Flex) in the TFLite runtime: this file
    # returns probabilities only; the class names are in assets/.
    with tempfile.TemporaryDirectory() as scratch:
        probabilities_saved_model(trained, Path(scratch))
        converter = tf.lite.TFLiteConverter.from_saved_model(
            scratch, signature_keys=[IMAGES_SIGNATURE]
        )
        try:
            content = converter.convert()
        except Exception as error:  # noqa: BLE001  (the converter raises many types)
            raise ZooError(f"TFLite could not convert the model: {first_line(error)}") from None
    file.write_bytes(content)
    # The interpreter announces its CPU delegate from C++ on stderr as it allocates.
    with warnings.catch_warnings(), filtered_stderr(TFLITE_CHATTER):
        warnings.simplefilter("ignore")  # tf.lite.Interpreter's deprecation notice
        interpreter = tf.lite.Interpreter(model_content=content)
        runner = interpreter.get_signature_runner(IMAGES_SIGNATURE)
        output = runner(images=images.astype("float32"))["probabilities"]
    return {
        "samples": len(images),
        "max_abs_diff": max_diff(output, expected),
        "bytes": len(content),
    }


def write_onnx(trained: TrainedModel, file: Path, images: Any, expected: Any) -> dict[str, Any]:
    """Converts the model with tf2onnx and checks it with onnxruntime."""
    import onnxruntime
    import tensorflow as tf
    import tf2onnx
    from tensorflow.python.framework.convert_to_constants import (
        convert_variables_to_constants_v2,
    )

    height, width = trained.input_size
    spec = tf.TensorSpec((None, height, width, trained.channels), tf.float32, name="images")
    model = trained.model

    @tf.function
    def probabilities(images: tf.Tensor) -> tf.Tensor:
        return tf.cast(model(images, training=False), tf.float32)

    # Freezing first turns every captured value into a constant; tf2onnx's own
    # from_function would make captured tensors (e.g. EfficientNet's
    # normalisation statistics) into extra graph inputs.
    with quiet_loggers("tensorflow", "tf2onnx"):
        frozen = convert_variables_to_constants_v2(probabilities.get_concrete_function(spec))
        try:
            tf2onnx.convert.from_graph_def(
                frozen.graph.as_graph_def(),
                input_names=[frozen.inputs[0].name],
                output_names=[frozen.outputs[0].name],
                tensors_to_rename={
                    frozen.inputs[0].name: "images",
                    frozen.outputs[0].name: "probabilities",
                },
                output_path=str(file),
            )
        except Exception as error:  # noqa: BLE001  (tf2onnx raises many types)
            raise ZooError(f"tf2onnx could not convert the model: {first_line(error)}") from None
    session = onnxruntime.InferenceSession(str(file), providers=["CPUExecutionProvider"])
    output = session.run(["probabilities"], {"images": images.astype("float32")})[0]
    return {
        "samples": len(images),
        "max_abs_diff": max_diff(output, expected),
        "bytes": file.stat().st_size,
    }
