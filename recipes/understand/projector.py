"""TensorBoard's embedding projector: the files it reads, and the run directory's pointer to them.

The projector plugin reads `projector_config.pbtxt` from each TensorBoard run
(a folder of event files) and from the log directory itself. A run's event
files live in `RUN/logs/...`, so `zoo embed` writes its export in its own
folder and lists it in `RUN/projector_config.pbtxt`, with paths relative to the
run: `tensorboard --logdir RUN` then shows the scalars and the projector.
"""

from __future__ import annotations

import math
from pathlib import Path

from recipes.understand.features import FeatureBank
from zoo.atomic import atomic_write, atomic_write_text

CONFIG = "projector_config.pbtxt"


def write_projector(folder: Path, bank: FeatureBank, names: list[str]) -> str:
    """Writes TensorBoard's embedding-projector files; returns the folder."""
    import numpy as np
    from PIL import Image
    from tensorboard.plugins import projector

    folder.mkdir(parents=True, exist_ok=True)
    rows = "\n".join("\t".join(f"{value:.6g}" for value in vector) for vector in bank.features)
    atomic_write_text(folder / "tensors.tsv", rows + "\n")
    metadata = ["class\tpath"] + [
        f"{names[label]}\t{_tsv_field(str(path))}"
        for label, path in zip(bank.labels, bank.paths, strict=True)
    ]
    atomic_write_text(folder / "metadata.tsv", "\n".join(metadata) + "\n")
    thumbnails = bank.thumbnails
    count, side = len(thumbnails), thumbnails.shape[1]
    columns = math.ceil(math.sqrt(count))
    sprite = np.zeros((columns * side, columns * side, 3), dtype="uint8")
    for index, thumbnail in enumerate(thumbnails):
        row, column = divmod(index, columns)
        sprite[row * side : (row + 1) * side, column * side : (column + 1) * side] = thumbnail
    atomic_write(folder / "sprite.png", lambda target: Image.fromarray(sprite).save(target))
    config = projector.ProjectorConfig()
    embedding = config.embeddings.add()
    embedding.tensor_name = "features"
    embedding.tensor_path = "tensors.tsv"
    embedding.metadata_path = "metadata.tsv"
    embedding.sprite.image_path = "sprite.png"
    embedding.sprite.single_image_dim.extend([side, side])
    projector.visualize_embeddings(str(folder), config)
    return str(folder)


def link_from_run(run_dir: Path, folder: Path) -> None:
    """Lists a projector export in the run directory's `projector_config.pbtxt`.

    The entry is named after the export's folder (relative to the run), and
    replaces an older entry of the same folder; others are kept.

    Args:
        run_dir: The run directory (TensorBoard's log directory).
        folder: A folder `write_projector` wrote, inside `run_dir`.
    """
    from google.protobuf import text_format
    from tensorboard.plugins import projector

    relative = folder.resolve().relative_to(run_dir.resolve()).as_posix()
    exported = text_format.Parse((folder / CONFIG).read_text(), projector.ProjectorConfig())
    path = run_dir / CONFIG
    config = projector.ProjectorConfig()
    if path.is_file():
        text_format.Parse(path.read_text(), config)
    kept = [item for item in config.embeddings if item.tensor_name != relative]
    del config.embeddings[:]
    config.embeddings.extend(kept)
    for item in exported.embeddings:
        entry = config.embeddings.add()
        entry.CopyFrom(item)
        entry.tensor_name = relative
        entry.tensor_path = f"{relative}/{item.tensor_path}"
        entry.metadata_path = f"{relative}/{item.metadata_path}"
        entry.sprite.image_path = f"{relative}/{item.sprite.image_path}"
    atomic_write_text(path, text_format.MessageToString(config))


def _tsv_field(text: str) -> str:
    return text.replace("\t", " ").replace("\n", " ")
