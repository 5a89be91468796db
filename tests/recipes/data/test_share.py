"""Each process's share of every batch (`Share`): equal parts, every image once."""

import numpy as np
import pytest
import tensorflow as tf

from recipes.data.pipeline import Share, Split, batches


def _split(count):
    # Each image holds its own number, so a batch says which images it carries.
    images = np.arange(count, dtype=np.uint8).reshape(count, 1, 1, 1)
    labels = np.arange(count, dtype=np.int32) % 3
    return Split(tf.data.Dataset.from_tensor_slices((images, labels)), count, shuffle_buffer=count)


def _parts(count, batch_size, processes, train):
    """Per process, the list of batches it gets (image numbers, and weights for evaluation)."""
    parts = []
    for index in range(processes):
        pipeline = batches(
            _split(count),
            3,
            batch_size=batch_size,
            seed=7,
            train=train,
            share=Share(processes, index),
        )
        parts.append([tuple(t.numpy() for t in batch) for batch in pipeline])
        assert len(parts[-1]) == pipeline.cardinality().numpy()
    return parts


@pytest.mark.parametrize(("count", "processes"), [(20, 2), (23, 2), (22, 3), (17, 4)])
def test_evaluation_parts_cover_every_image_once_and_pad_with_weight_zero(count, processes):
    parts = _parts(count, batch_size=processes * 2, processes=processes, train=False)
    assert len({len(batches_) for batches_ in parts}) == 1  # as many batches everywhere
    seen = []
    for step in zip(*parts, strict=True):
        assert len({len(images) for images, _, _ in step}) == 1  # equal parts
        for images, _, weights in step:
            seen += [int(v) for v, w in zip(images.ravel(), weights, strict=True) if w == 1]
            assert all(v == 0 for v, w in zip(images.ravel(), weights, strict=True) if w == 0)
    assert sorted(seen) == list(range(count))
    padded = sum(int((w == 0).sum()) for process in parts for _, _, w in process)
    assert padded == Share(processes, 0).padding(count, processes * 2)


@pytest.mark.parametrize(("count", "batch_size", "processes"), [(20, 4, 2), (23, 4, 2), (21, 6, 3)])
def test_training_parts_are_slices_of_the_same_shuffled_batch(count, batch_size, processes):
    whole = [images.ravel() for images, _ in (
        tuple(t.numpy() for t in batch)
        for batch in batches(_split(count), 3, batch_size=batch_size, seed=7, train=True)
    )]  # fmt: skip
    parts = _parts(count, batch_size, processes, train=True)
    steps = Share(processes, 0).training_steps(count, batch_size)
    assert all(len(process_batches) == steps for process_batches in parts)
    for step, global_batch in zip(range(steps), whole, strict=False):
        joined = np.concatenate([parts[index][step][0].ravel() for index in range(processes)])
        kept = len(global_batch) - len(global_batch) % processes
        np.testing.assert_array_equal(joined, global_batch[:kept])
