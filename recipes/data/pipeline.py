"""From a split's decoded images to the batches Keras trains on.

Every source hands over its splits the same way (a `Split`); `batches` turns
one into prefetched `(float32 images, one-hot labels)` batches: shuffled and
augmented for training, in order otherwise. Images stay `uint8` until they are
batched, so caches and shuffle buffers hold a quarter of what `float32` would.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from recipes.data.augment import AugmentPolicy, build_augmenter


@dataclass
class Split:
    """One split's decoded images, before batching.

    Attributes:
        data: A `tf.data.Dataset` of `(uint8 image, int32 label)` elements, or
            of `(index, uint8 image)` elements when `labels` is given.
        count: The exact number of elements, when known (Keras then knows the
            steps per epoch from the start).
        shuffle_buffer: Buffer to shuffle the training split with; `None` when
            the elements already come shuffled.
        labels: The label of each index, for `(index, image)` elements.
        files: The file each element was read from, in the order an unshuffled
            pass yields them (sources read from files).
    """

    data: Any
    count: int | None
    shuffle_buffer: int | None = None
    labels: list[int] | None = None
    files: list[str] | None = None


@dataclass(frozen=True)
class Share:
    """This process's share of every batch, when several processes train together.

    Every process builds the same batches (same seed, same order) and keeps
    its slice: process `index` of `processes` takes the `index`-th of
    `processes` equal parts. Parts must be equal, so a last batch that does
    not split evenly is cut for training (at most `processes - 1` images of an
    epoch, a different few each epoch) and padded with images of weight 0 for
    evaluation (every image counted exactly once). The slice is taken before
    augmentation, so each process augments only its own images.

    Attributes:
        processes: How many processes share each batch.
        index: This process's part, 0 to `processes - 1`.
    """

    processes: int
    index: int

    def padding(self, count: int, batch_size: int) -> int:
        """Zero-weight images an evaluation split of `count` images gets (see above)."""
        return -(count % batch_size) % self.processes

    def training_steps(self, count: int, batch_size: int) -> int:
        """Batches of a training split of `count` images, once the last one is cut."""
        return count // batch_size + (count % batch_size >= self.processes)


def batches(
    split: Split,
    num_classes: int,
    *,
    batch_size: int,
    seed: int,
    train: bool,
    shuffle: bool = True,
    policy: AugmentPolicy | None = None,
    share: Share | None = None,
) -> Any:
    """A split as prefetched `(float32 images, one-hot labels)` batches.

    Args:
        split: The split's elements.
        num_classes: Length of the one-hot labels.
        batch_size: Images per batch.
        seed: Seed of the shuffle and the augmentation.
        train: Whether this is the training split (shuffled and augmented).
        shuffle: Whether the training split is shuffled every epoch.
        policy: Augmentation of the training split, or `None`.
        share: This process's share of each batch (see `Share`); evaluation
            batches then carry sample weights, `(images, labels, weights)`.

    Returns:
        The pipeline: one pass over the split per iteration (no `repeat`).
    """
    import tensorflow as tf

    data = split.data
    if train and shuffle and split.shuffle_buffer:
        data = data.shuffle(split.shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
    data = data.batch(batch_size)
    table = tf.constant(split.labels, tf.int32) if split.labels is not None else None

    def to_float(first: Any, second: Any) -> tuple[Any, Any]:
        if table is not None:  # (indices, images)
            images, labels = second, tf.gather(table, first)
        else:  # (images, labels)
            images, labels = first, second
        return tf.cast(images, tf.float32), tf.one_hot(labels, num_classes, dtype=tf.float32)

    data = data.map(to_float, num_parallel_calls=tf.data.AUTOTUNE)
    if share is not None and share.processes > 1:
        data = data.map(_part(share, weighted=not train), num_parallel_calls=tf.data.AUTOTUNE)
        if train:  # a last batch smaller than the process count is cut to nothing
            data = data.filter(lambda images, labels: tf.shape(images)[0] > 0)
    augment = build_augmenter(policy, seed) if train and policy is not None else None
    if augment is not None:
        data = data.map(augment, num_parallel_calls=tf.data.AUTOTUNE)
    if split.count is not None:
        steps = math.ceil(split.count / batch_size)
        if share is not None and train:
            steps = share.training_steps(split.count, batch_size)
        data = data.apply(tf.data.experimental.assert_cardinality(steps))
    options = tf.data.Options()
    options.deterministic = True  # batches in order, whatever the parallel calls' timing
    return data.with_options(options).prefetch(tf.data.AUTOTUNE)


def _part(share: Share, weighted: bool) -> Any:
    import tensorflow as tf

    parts, index = share.processes, share.index

    def part(images: Any, labels: Any) -> tuple[Any, ...]:
        size = tf.shape(images)[0]
        if not weighted:  # cut to a multiple of the process count
            length = size // parts
            return tuple(t[index * length : (index + 1) * length] for t in (images, labels))
        length = (size + parts - 1) // parts
        pad = length * parts - size
        weights = tf.concat([tf.ones([size]), tf.zeros([pad])], axis=0)
        padded = (
            tf.pad(images, [[0, pad]] + [[0, 0]] * (images.shape.rank - 1)),
            tf.pad(labels, [[0, pad], [0, 0]]),
            weights,
        )
        return tuple(t[index * length : (index + 1) * length] for t in padded)

    return part


def select(cached: Any, indices: list[int], usable: int) -> Any:
    """The elements (`(index, ...)`) of some indices, read from a cache they share.

    Args:
        cached: A dataset whose elements start with an `int64` index.
        indices: The indices to keep.
        usable: How many elements the dataset holds (all are kept when equal).

    Returns:
        The filtered dataset.
    """
    import tensorflow as tf

    if len(indices) == usable:  # the whole cache: no need to look at each element
        return cached
    mask = [False] * (max(indices) + 1)
    for index in indices:
        mask[index] = True
    mask_tensor = tf.constant(mask)
    size = len(mask)
    return cached.filter(
        lambda index, *_: (index < size) & tf.gather(mask_tensor, tf.minimum(index, size - 1))
    )


def buffer_for(count: int, cache: str) -> int:
    """The shuffle buffer of a cached split: all of it in memory, else at most 2048 images."""
    return count if cache == "memory" else min(count, 2048)
