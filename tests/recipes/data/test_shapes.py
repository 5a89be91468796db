"""The built-in `shapes` dataset: names, determinism, sizes, files, learnability."""

import itertools

import numpy as np
import pytest

from recipes.config import shape_classes
from recipes.data import shapes
from zoo.errors import UsageError


def test_class_names_are_the_first_n_shapes_sorted():
    assert shape_classes.class_names(3) == sorted(["circle", "square", "triangle"])
    assert len(set(shape_classes.class_names(20))) == 20
    assert shape_classes.class_names(10) == sorted(shape_classes.SHAPE_NAMES[:10])
    for bad in (1, 21, 0, "3", True):
        with pytest.raises(UsageError):
            shape_classes.class_names(bad)


def test_chosen_classes_by_count_or_name():
    assert shape_classes.chosen_classes(3) == shape_classes.class_names(3)
    assert shape_classes.chosen_classes("frame, ellipse,pentagon") == [
        "ellipse",
        "frame",
        "pentagon",
    ]
    assert shape_classes.chosen_classes(["star", "ring"]) == ["ring", "star"]
    with pytest.raises(UsageError, match="Did you mean: pentagon"):
        shape_classes.chosen_classes("ellipse,pentgon")
    with pytest.raises(UsageError, match="named twice: ring"):
        shape_classes.chosen_classes("ring,star,ring")
    with pytest.raises(UsageError, match="2 to 20"):
        shape_classes.chosen_classes("ring")


def test_a_class_draws_the_same_images_whichever_others_are_chosen():
    first_five, labels = shapes.generate(5, 2, 16, seed=1)
    names = shape_classes.class_names(5)
    star_alone, _ = shapes.generate(["star", "ellipse"], 2, 16, seed=1)
    star = names.index("star")
    # "star" sorts after "ellipse": it is the second class of the pair.
    assert np.array_equal(star_alone[2:], first_five[labels == star])


def test_generation_is_deterministic_and_split_dependent():
    a_images, a_labels = shapes.generate(4, 3, (24, 32), seed=7)
    b_images, b_labels = shapes.generate(4, 3, (24, 32), seed=7)
    assert a_images.shape == (12, 24, 32, 3) and a_images.dtype == np.uint8
    assert np.array_equal(a_images, b_images) and np.array_equal(a_labels, b_labels)
    assert np.bincount(a_labels).tolist() == [3, 3, 3, 3]
    other_seed, _ = shapes.generate(4, 3, (24, 32), seed=8)
    other_split, _ = shapes.generate(4, 3, (24, 32), seed=7, split="val")
    assert not np.array_equal(a_images, other_seed)
    assert not np.array_equal(a_images, other_split)
    # More images per class only adds images: the first ones stay the same.
    more, _ = shapes.generate(4, 5, (24, 32), seed=7)
    assert np.array_equal(more[:3], a_images[:3])


def test_any_size_and_grayscale():
    images, _ = shapes.generate(2, 1, (9, 200), seed=0, channels=1)
    assert images.shape == (2, 9, 200, 1)
    images, _ = shapes.generate(2, 1, 299, seed=0)
    assert images.shape == (2, 299, 299, 3)
    with pytest.raises(UsageError):
        shapes.generate(2, 1, (4, 4))
    with pytest.raises(UsageError):
        shapes.generate(2, 1, 16, split="holdout")


def test_all_twenty_shapes_differ():
    """Drawn with the same random draws, any two classes differ in many pixels."""
    drawn = {
        name: shapes.render(name, (48, 48), np.random.default_rng(3)).astype(np.int32)
        for name in shape_classes.SHAPE_NAMES
    }
    for first, second in itertools.combinations(shape_classes.SHAPE_NAMES, 2):
        changed = (np.abs(drawn[first] - drawn[second]).sum(axis=-1) > 60).mean()
        assert changed > 0.03, (first, second, changed)


def test_write_folder_layouts(tmp_path):
    flat = shapes.write_folder(tmp_path / "flat", 3, 2, 20, image_format="png")
    assert sorted(p.name for p in flat.iterdir()) == shape_classes.class_names(3)
    assert len(list(flat.rglob("*.png"))) == 6
    split = shapes.write_folder(tmp_path / "split", 2, 1, 20, splits=("train", "val"))
    assert sorted(p.name for p in split.iterdir()) == ["train", "val"]
    assert len(list(split.rglob("*.jpg"))) == 4
    with pytest.raises(UsageError):
        shapes.write_folder(tmp_path / "x", 2, 1, 20, image_format="tiff")


def test_split_counts():
    assert shapes.split_counts(100, 0.2) == {"train": 80, "val": 20, "test": 20}
    assert shapes.split_counts(3, 0.1) == {"train": 2, "val": 1, "test": 1}
    assert shapes.split_counts(10, 0.0) == {"train": 10, "val": 0, "test": 2}


def test_a_few_steps_of_a_tiny_cnn_lower_the_loss():
    import keras

    keras.utils.set_random_seed(0)
    images, labels = shapes.generate(3, 40, 32, seed=0)
    x = images.astype("float32")
    y = keras.utils.to_categorical(labels, 3)
    layers = keras.layers
    model = keras.Sequential(
        [
            keras.Input((32, 32, 3)),
            layers.Rescaling(1 / 127.5, offset=-1),
            layers.Conv2D(16, 3, padding="same", use_bias=False),
            layers.BatchNormalization(),
            layers.ReLU(),
            layers.MaxPooling2D(),
            layers.Conv2D(32, 3, padding="same", use_bias=False),
            layers.BatchNormalization(),
            layers.ReLU(),
            layers.MaxPooling2D(),
            layers.Flatten(),
            layers.Dense(3, activation="softmax"),
        ]
    )
    model.compile(keras.optimizers.Adam(3e-3), "categorical_crossentropy")
    losses = model.fit(x, y, batch_size=20, epochs=8, verbose=0).history["loss"]
    assert losses[-1] < 0.7 * min(losses[0], np.log(3)), losses
