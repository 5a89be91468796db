"""Images for the understanding commands, read exactly as the model was trained to see them.

Decoding goes through `recipes.serving.predict`'s reader (the training
pipeline's decoder at the model's size, channels and interpolation); a file
that cannot be read is reported and skipped, never stopping the others.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from recipes.run.images import collect_images, image_decoder, looks_like_image, read_image
from recipes.run.trained import TrainedModel
from zoo.errors import UsageError


@dataclass
class Images:
    """Readable images and the files that were not.

    Attributes:
        paths: The files read, in order.
        pixels: float32 `[N, H, W, C]`, values 0..255, as the model takes them.
        bad: `{path, reason}` for each input that could not be used.
        labels: The class index of each image, when read from a class folder.
    """

    paths: list[Path]
    pixels: Any
    bad: list[dict[str, str]]
    labels: list[int] = field(default_factory=list)


def read_images(trained: TrainedModel, files: list[Path]) -> Iterator[tuple[Path, Any, str | None]]:
    """Decodes files one by one: `(path, pixels or None, reason or None)`."""
    decode = image_decoder(trained)
    for path in files:
        image, reason = read_image(decode, path)
        yield path, image, reason


def load_images(trained: TrainedModel, inputs: list[str]) -> Images:
    """Reads the images named by files, folders and glob patterns.

    Args:
        trained: The model the pixels are for.
        inputs: What the command line gave.

    Returns:
        The readable images.

    Raises:
        UsageError: Not one of the inputs is a readable image.
    """
    import numpy as np

    files, bad = collect_images(inputs)
    paths, pixels = [], []
    for path, image, reason in read_images(trained, files):
        if reason is not None:
            bad.append({"path": str(path), "reason": reason})
        else:
            paths.append(path)
            pixels.append(image)
    if not pixels:
        first = f" ({bad[0]['path']}: {bad[0]['reason']})" if bad else ""
        raise UsageError(
            f"None of the inputs is a readable image{first}; give JPEG, PNG, GIF or BMP "
            "files, folders or glob patterns."
        )
    return Images(paths, np.stack(pixels).astype("float32"), bad)


def class_folder_files(
    trained: TrainedModel, data_dir: str, max_images: int | None = None, seed: int = 0
) -> list[tuple[Path, int]]:
    """The image files of a folder of class sub-folders (or of its `train/` split).

    Classes are the model's, matched by folder name; folders of other names
    are left out. With `max_images`, an even share per class is drawn at
    random (with `seed`), so the result does not depend on the files' order.

    Args:
        trained: The model whose classes label the files.
        data_dir: A folder like `zoo train --data` takes.
        max_images: Most files to take.
        seed: Seed of the draw.

    Returns:
        `(path, class index)` pairs, by class then path.

    Raises:
        UsageError: No folder there, or none of its classes is one of the model's.
    """
    from recipes.data.listing import list_folder

    if not Path(data_dir).is_dir():
        raise UsageError(f"{data_dir} is not a folder; pass a folder of class sub-folders.")
    listing = list_folder(data_dir)
    split = "all" if listing.layout == "classes" else "train"
    classes = listing.splits.get(split, {})
    known = {name: index for index, name in enumerate(trained.class_names)}
    chosen = {name: files for name, files in classes.items() if name in known}
    if not chosen:
        raise UsageError(
            f"None of the class folders in {listing.where(split)} "
            f"({', '.join(sorted(classes)) or 'none'}) is a class of the model "
            f"({', '.join(trained.class_names[:8])}); pass the folder the model was trained on."
        )
    pairs = [
        (Path(file), known[name])
        for name, files in sorted(chosen.items())
        for file in files
        if looks_like_image(Path(file))
    ]
    if max_images is not None and len(pairs) > max_images:
        pairs = _even_share(pairs, max_images, seed)
    return pairs


def batches(
    trained: TrainedModel, files: list[tuple[Path, int]], batch_size: int = 32
) -> Iterator[Images]:
    """Reads labelled files a batch at a time (unreadable ones reported in each batch's `bad`)."""
    import numpy as np

    label_of = dict(files)
    reader = read_images(trained, [path for path, _ in files])
    while chunk := list(itertools.islice(reader, batch_size)):
        paths, pixels, labels, bad = [], [], [], []
        for path, image, reason in chunk:
            if reason is not None:
                bad.append({"path": str(path), "reason": reason})
                continue
            paths.append(path)
            pixels.append(image)
            labels.append(label_of[path])
        shape = (0, *trained.input_size, trained.channels)
        array = np.stack(pixels).astype("float32") if pixels else np.zeros(shape, "float32")
        yield Images(paths, array, bad, labels)


def _even_share(pairs: list[tuple[Path, int]], count: int, seed: int) -> list[tuple[Path, int]]:
    by_class: dict[int, list[tuple[Path, int]]] = {}
    for pair in pairs:
        by_class.setdefault(pair[1], []).append(pair)
    generator = random.Random(seed)
    for members in by_class.values():
        generator.shuffle(members)
    chosen: list[tuple[Path, int]] = []
    while len(chosen) < count:  # one per class in turn: an even share, all of a small class
        for members in by_class.values():
            if members and len(chosen) < count:
                chosen.append(members.pop())
    return sorted(chosen, key=lambda pair: (pair[1], str(pair[0])))
