"""What a data source yields (`SourceData`), and the `DataBundle` one function makes of it.

Every source (image folder, tensorflow-datasets, the built-in set) returns the
same `SourceData`: its splits as decoded images, the class names, counts and
the files it left out. `make_bundle` turns that into the train, validation and
test pipelines, the same way for every source.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from recipes.data.augment import AugmentPolicy
from recipes.data.pipeline import Share, Split, batches

SPLIT_NAMES = ("train", "val", "test")


@dataclass
class SourceData:
    """What a source found, before batching.

    Attributes:
        splits: The decoded splits present (`train`, and `val`, `test` when there).
        class_names: Class names in label order.
        counts: Usable images per split per class: `{"train": {"cat": 12}}`.
        source: What the data is (`folder DIR`, `tfds NAME`, `shapes ...`).
        layout: `classes`, `splits`, `tfds` or `shapes`.
        bad: Skipped files: `{"path": ..., "reason": ...}`.
        ignored: Files and folders that are not images (`{"path", "reason"}`).
        converted: Files normalised with Pillow before decoding.
        dropped_classes: Empty classes left out (`drop_empty_classes`).
        cache: The cache used: `memory`, `none` or the file cache's path.
        cache_note: Why `cache` is not the one asked for (empty when it is).
        input_size: `(height, width)` of the images.
        channels: Their channels.
        source_size: `(height, width)` of the source's images before they are
            resized to `input_size` (a folder's median, a dataset's declared
            size); `None` when unknown or drawn at `input_size` (the built-in set).
    """

    splits: dict[str, Split]
    class_names: list[str]
    counts: dict[str, dict[str, int]]
    source: str
    layout: str
    bad: list[dict[str, str]] = field(default_factory=list)
    ignored: list[dict[str, str]] = field(default_factory=list)
    converted: list[dict[str, str]] = field(default_factory=list)
    dropped_classes: list[str] = field(default_factory=list)
    cache: str = "memory"
    cache_note: str = ""
    input_size: tuple[int, int] = (224, 224)
    channels: int = 3
    source_size: tuple[int, int] | None = None


def median_size(sizes: Iterable[tuple[int, int] | None]) -> tuple[int, int] | None:
    """The median `(height, width)` of some images (`None` entries unknown), or `None`."""
    known = [size for size in sizes if size is not None]
    if not known:
        return None
    middle = len(known) // 2
    return (
        sorted(height for height, _ in known)[middle],
        sorted(width for _, width in known)[middle],
    )


@dataclass
class DataBundle:
    """The pipelines of one data source, and what is known about it.

    Every pipeline yields batches `(images, labels)`: `float32 [B, height,
    width, channels]` images in 0..255 (normalisation is inside the model) and
    one-hot `float32 [B, classes]` labels (MixUp and CutMix make them soft).
    `train` makes one pass over the split per iteration, so
    `model.fit(bundle.train, validation_data=bundle.val, epochs=N)` works.

    Attributes:
        train: Training batches, shuffled and augmented as configured.
        val: Validation batches, or `None` without a validation split.
        test: Test batches, or `None` when the source has no test split.
        class_names: Class names in label order.
        counts: Usable images per split per class.
        bad: Skipped files, with reasons.
        ignored: Files and folders that are not images.
        source: What the data is.
        converted: Files normalised with Pillow before decoding.
        layout: `classes`, `splits`, `tfds` or `shapes`.
        input_size: `(height, width)` of the images.
        channels: Channels of the images.
        augment: The augmentation policy applied to `train`.
        dropped_classes: Empty classes left out.
        cache: The cache used.
        cache_note: Why `cache` is not the one asked for (empty when it is).
        source_size: `(height, width)` of the source's images before resizing,
            when known (see `SourceData`).
        share: This process's share of each batch, when several processes
            train together (see `recipes.data.pipeline.Share`).
        padding: Zero-weight images added to each evaluation split (`val`,
            `test`) so that its last batch splits evenly between processes.
        train_view: Gives the whole training split (every process sees all of
            it) in order, plain (`False`) or augmented without MixUp and
            CutMix (`True`): what a linear probe's features are computed on.
        files: Per split, the file of each image in the order an unshuffled
            pipeline yields them (sources read from files; `val` and `test`
            are never shuffled).
    """

    train: Any
    val: Any | None
    test: Any | None
    class_names: list[str]
    counts: dict[str, dict[str, int]]
    bad: list[dict[str, str]]
    ignored: list[dict[str, str]]
    source: str
    converted: list[dict[str, str]] = field(default_factory=list)
    layout: str = "classes"
    input_size: tuple[int, int] = (224, 224)
    channels: int = 3
    augment: dict[str, Any] = field(default_factory=dict)
    dropped_classes: list[str] = field(default_factory=list)
    cache: str = "memory"
    cache_note: str = ""
    source_size: tuple[int, int] | None = None
    share: Share | None = None
    padding: dict[str, int] = field(default_factory=dict)
    train_view: Callable[[bool], Any] | None = None
    files: dict[str, list[str]] = field(default_factory=dict)

    @property
    def num_classes(self) -> int:
        """Number of classes."""
        return len(self.class_names)

    def images(self, split: str) -> int:
        """Usable images in a split (0 when it is absent)."""
        return sum(self.counts.get(split, {}).values())

    def summary(self) -> dict[str, Any]:
        """Everything but the pipelines, as plain JSON-able data (a run's `data.json`)."""
        return {
            "source": self.source,
            "layout": self.layout,
            "class_names": list(self.class_names),
            "counts": self.counts,
            "input_size": list(self.input_size),
            "channels": self.channels,
            "augment": self.augment,
            "bad": self.bad,
            "ignored": self.ignored,
            "converted": self.converted,
            "dropped_classes": self.dropped_classes,
            "cache": self.cache,
            "cache_note": self.cache_note,
        }


def make_bundle(
    found: SourceData,
    *,
    batch_size: int,
    seed: int,
    policy: AugmentPolicy,
    shuffle: bool = True,
    share: Share | None = None,
) -> DataBundle:
    """The train, validation and test pipelines of what a source found.

    Cheap: the images are decoded already, so one `SourceData` serves pipelines
    of any batch size and augmentation.

    Args:
        found: The source's splits and facts.
        batch_size: Images per batch.
        seed: Seed of the shuffle and the augmentation.
        policy: Augmentation of the training split.
        shuffle: Whether the training split is shuffled every epoch.
        share: This process's share of each batch (several processes).

    Returns:
        The bundle.
    """
    pipelines = {
        name: batches(
            split,
            len(found.class_names),
            batch_size=batch_size,
            seed=seed,
            train=name == "train",
            shuffle=shuffle,
            policy=policy,
            share=share,
        )
        for name, split in found.splits.items()
    }
    train_view = None
    if "train" in found.splits:
        mixed = dataclasses.replace(policy, mixup=0.0, cutmix=0.0)

        def train_view(augmented: bool) -> Any:
            return batches(
                found.splits["train"],
                len(found.class_names),
                batch_size=batch_size,
                seed=seed + 1,
                train=augmented,
                shuffle=False,
                policy=mixed,
            )

    padding = {
        name: share.padding(sum(found.counts[name].values()), batch_size)
        for name in found.splits
        if share is not None and name != "train"
    }
    return DataBundle(
        train=pipelines.get("train"),
        val=pipelines.get("val"),
        test=pipelines.get("test"),
        class_names=list(found.class_names),
        counts={name: found.counts[name] for name in SPLIT_NAMES if name in found.counts},
        bad=found.bad,
        ignored=found.ignored,
        source=found.source,
        converted=found.converted,
        layout=found.layout,
        input_size=found.input_size,
        channels=found.channels,
        augment=policy.to_dict(),
        dropped_classes=found.dropped_classes,
        cache=found.cache,
        cache_note=found.cache_note,
        source_size=found.source_size,
        share=share,
        padding=padding,
        train_view=train_view,
        files={name: split.files for name, split in found.splits.items() if split.files},
    )
