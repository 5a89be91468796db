"""Export for serving: a SavedModel in TensorFlow Serving's layout, plus TFLite and ONNX.

`export_model` writes `OUTPUT/NAME/VERSION/` (`saved_model.pb`, `variables/`,
`assets/class_names.txt`) with the signatures of `signatures`. Every signature
computes in float32, whatever precision trained the model. The export is
written to a staging folder, checked against the Keras model (`verify`), and
only then renamed into place (`versions`). `--format tflite` and `--format
onnx` add `model.tflite` or `model.onnx` (probabilities only) to the same
version directory (`converters`). `exporter` puts it together.
"""

from __future__ import annotations

from recipes.serving.export.exporter import FORMATS, export_model
from recipes.serving.export.signatures import DEFAULT_SIGNATURE
from recipes.serving.export.versions import list_versions

__all__ = ["DEFAULT_SIGNATURE", "FORMATS", "export_model", "list_versions"]
