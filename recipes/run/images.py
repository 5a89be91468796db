"""Reading image files for a trained model: collecting paths, decoding as training did.

Images are decoded and resized with `recipes.data.decode.decode_and_resize`, the
function the training pipeline and the exported serving signature use, so a
file gives the model the same pixels here as in `zoo export`'s SavedModel.
Files that cannot be read or decoded are reported with a reason; they never
stop the others. Prediction, evaluation and every picture of `understand` read
their images through here.
"""

from __future__ import annotations

import glob
from pathlib import Path
from typing import Any

from recipes.run.trained import TrainedModel
from zoo.errors import UsageError, op_error_message

_GLOB_CHARACTERS = set("*?[")


def collect_images(inputs: list[str]) -> tuple[list[Path], list[dict[str, str]]]:
    """Expands files, folders (recursively) and glob patterns into image files.

    A file named explicitly is always taken (and reported later if it is not a
    usable image); inside folders and glob matches, files that are not images
    at all (`notes.txt`, hidden files) are skipped silently, while images of an
    unsupported type (`.webp`, ...) are taken so that they get reported.

    Args:
        inputs: Paths and patterns as given on the command line.

    Returns:
        The files in order of appearance without repeats, and `{path, reason}`
        for each input that names nothing usable.
    """
    files: list[Path] = []
    bad: list[dict[str, str]] = []
    for item in inputs:
        path = Path(item)
        if path.is_file():
            files.append(path)
        elif path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and looks_like_image(p))
            if not found:
                bad.append({"path": item, "reason": "folder holds no image files"})
            files.extend(found)
        elif _GLOB_CHARACTERS & set(item):
            matches = [Path(p) for p in sorted(glob.glob(item, recursive=True))]
            found = [p for p in matches if p.is_file() and looks_like_image(p)]
            if not found:
                bad.append({"path": item, "reason": "no image file matches the pattern"})
            files.extend(found)
        else:
            bad.append({"path": item, "reason": "no such file or folder"})
    unique = list(dict.fromkeys(files))
    return unique, bad


def looks_like_image(path: Path) -> bool:
    """Whether a file found in a folder is meant as an image (by its name; hidden files are not)."""
    from recipes.data.files import UNSUPPORTED_IMAGE_EXTENSIONS, is_image_name

    if path.name.startswith("."):
        return False
    return is_image_name(path.name) or path.suffix.lower() in UNSUPPORTED_IMAGE_EXTENSIONS


def decode_for_model(contents: Any, trained: TrainedModel) -> Any:
    """Graph ops: encoded image bytes -> the float32 `[H, W, C]` pixels training saw.

    `recipes.data.decode.decode_and_resize` at the model's size, channels and
    interpolation, rounded to whole values: the training pipelines store
    images as uint8 (rounded), so rounding here makes predictions, evaluation
    and the exported signature see exactly the pixels the model was trained on.
    Bytes the training decoder would not read as they are (another format, a
    BMP of fewer than 24 bits) fail (`recipes.data.decode.check_encoded`).

    Args:
        contents: Scalar `tf.string` tensor with an encoded image.
        trained: The model the pixels are for.

    Returns:
        A float32 tensor `[height, width, channels]` with whole values in 0..255.
    """
    import tensorflow as tf

    from recipes.data.decode import check_encoded, decode_and_resize

    height, width = trained.input_size
    contents = check_encoded(contents)
    image = decode_and_resize(contents, (height, width), trained.channels, trained.interpolation)
    image = tf.round(tf.cast(image, tf.float32))
    return tf.ensure_shape(image, (height, width, trained.channels))


def image_decoder(trained: TrainedModel) -> Any:
    """A compiled `decode_for_model`: encoded image bytes -> float32 `[H, W, C]`."""
    import tensorflow as tf

    @tf.function(input_signature=[tf.TensorSpec([], tf.string)])
    def decode(contents: tf.Tensor) -> tf.Tensor:
        return decode_for_model(contents, trained)

    return decode


def read_image(decode: Any, path: Path) -> tuple[Any, str | None]:
    """Reads and decodes one file as the training pipeline does.

    The file goes through `recipes.data.files.read_image_bytes` (header checks,
    pixel limit, Pillow normalisation of BMPs TensorFlow misreads) and then the
    decoder; a file TensorFlow cannot decode but Pillow can is normalised, as
    in training.

    Args:
        decode: A function from `image_decoder`.
        path: The file.

    Returns:
        `(image, None)`, or `(None, reason)` when the file cannot be used.
    """
    import tensorflow as tf

    from recipes.data.files import pillow_png, read_image_bytes

    try:
        contents = read_image_bytes(str(path))
    except UsageError as error:
        return None, str(error).removeprefix(f"{path}: ").rstrip(".")
    try:
        return decode(tf.constant(contents)).numpy(), None
    except tf.errors.OpError as error:
        try:
            return decode(tf.constant(pillow_png(str(path)))).numpy(), None
        except (OSError, tf.errors.OpError):
            return None, f"corrupt or truncated image ({op_error_message(error)})"
