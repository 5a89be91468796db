"""`recipes.data`: folders with hostile files, both layouts, splits, caches, tfds, shapes."""

import io
import json
import os

import numpy as np
import pytest
import tensorflow_datasets as tfds
from PIL import Image, PngImagePlugin

from recipes.config.schema import SETTINGS, AugmentSettings, DataSettings
from recipes.data import DataUnavailableError, load_data, scan
from recipes.data.cache import plan_cache, step_bytes
from recipes.data.sources import folder as folder_source
from recipes.data.sources import tfds_prepare
from zoo.errors import UnknownNameError, UsageError, ZooError

SIZE = (16, 16)
COLOURS = {"blue": (20, 40, 230), "green": (30, 200, 40), "red": (220, 30, 30)}


def _image(colour, size=(20, 24), seed=0):
    rng = np.random.default_rng(seed)
    pixels = np.array(colour, np.int16) + rng.integers(-10, 10, (size[1], size[0], 3))
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def _folder(root, counts=None, fmt="png"):
    """Class folders of plain-coloured images: class -> number of images."""
    counts = {"blue": 5, "green": 5, "red": 5} if counts is None else counts
    root.mkdir(parents=True, exist_ok=True)
    for name, count in counts.items():
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        for index in range(count):
            _image(COLOURS.get(name, (128, 128, 128)), seed=index).save(
                folder / f"{name}_{index}.{fmt}"
            )
    return root


def _add_hostile(folder):
    """Every kind of bad, odd and ignorable file, in one class folder."""
    jpeg = io.BytesIO()
    _image(COLOURS["red"]).save(jpeg, "JPEG")
    good = jpeg.getvalue()
    red = _image(COLOURS["red"])
    files = {
        "upper.JPG": good,
        "ünïcødé 画像.jpg": good,
        "empty.jpg": b"",
        "text.jpg": b"this is not an image",
        "truncated.jpg": good[: len(good) // 2],
    }
    for name, contents in files.items():
        (folder / name).write_bytes(contents)
    red.save(folder / "photo.gif")
    red.save(folder / "photo.bmp")
    red.convert("L").save(folder / "gray.png")
    red.convert("P").save(folder / "palette.png")
    red.convert("RGBA").save(folder / "alpha.png")
    red.convert("CMYK").save(folder / "cmyk.jpg")
    red.convert("P").save(folder / "palette.bmp")
    red.save(folder / "picture.tiff")
    red.save(folder / "disguised.jpg", "WEBP")
    Image.new("RGB", (120, 100), COLOURS["red"]).save(folder / "huge.png")
    (folder / "notes.txt").write_text("not an image")
    (folder / ".DS_Store").write_bytes(b"\0\0")
    return {
        "usable": {"upper.JPG", "ünïcødé 画像.jpg", "photo.gif", "photo.bmp", "gray.png"}
        | {"palette.png", "alpha.png", "cmyk.jpg", "palette.bmp"},
        "bad": {
            "empty.jpg": "empty file",
            "text.jpg": "not an image",
            "truncated.jpg": "corrupt or truncated",
            "picture.tiff": "unsupported image type .tiff",
            "disguised.jpg": "unsupported image type WEBP",
            "huge.png": "too large",
        },
        "converted": {"palette.bmp"},
        "ignored": {"notes.txt", ".DS_Store"},
    }


def _bad_crc_png(path):
    """A PNG whose tEXt chunk has a wrong checksum: Pillow refuses it, TensorFlow reads it."""
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "hello")
    buffer = io.BytesIO()
    _image(COLOURS["red"]).save(buffer, "PNG", pnginfo=info)
    contents = bytearray(buffer.getvalue())
    chunk = contents.find(b"tEXt")
    length = int.from_bytes(contents[chunk - 4 : chunk], "big")
    contents[chunk + 4 + length] ^= 0xFF  # first byte of the chunk's CRC
    path.write_bytes(bytes(contents))


def _count(dataset):
    return sum(int(images.shape[0]) for images, _ in dataset)


def _batches(dataset):
    images, labels = zip(*((x.numpy(), y.numpy()) for x, y in dataset), strict=True)
    return np.concatenate(images), np.concatenate(labels)


def _config(root, **overrides):
    """`load_data`'s arguments: data and augmentation settings, and the pipeline's own."""
    settings = {"input_size": SIZE, "batch_size": 4, **overrides}
    if root is not None:
        settings["data_dir"] = str(root)
    return settings


def _load(settings):
    settings = dict(settings)
    sections = {"data": {}, "augmentation": {}}
    for name in list(settings):
        if name in SETTINGS and SETTINGS[name].section in sections:
            sections[SETTINGS[name].section][name] = settings.pop(name)
    augment = AugmentSettings(**sections["augmentation"]) if sections["augmentation"] else None
    return load_data(DataSettings(**sections["data"]), augment=augment, **settings)


# --------------------------------------------------------------------------- hostile files


def test_hostile_folder_is_skipped_and_reported(tmp_path):
    root = _folder(tmp_path / "d", {"blue": 4, "green": 4, "red": 4})
    expected = _add_hostile(root / "red")
    bundle = _load(_config(root, max_pixels=10_000, val_split=0.25))

    bad = {os.path.basename(entry["path"]): entry["reason"] for entry in bundle.bad}
    assert set(bad) == set(expected["bad"])
    for name, fragment in expected["bad"].items():
        assert fragment in bad[name], (name, bad[name])
    assert {os.path.basename(e["path"]) for e in bundle.converted} == expected["converted"]
    ignored = {os.path.basename(entry["path"]) for entry in bundle.ignored}
    assert expected["ignored"] <= ignored
    usable_red = 4 + len(expected["usable"])
    assert bundle.counts["train"]["red"] + bundle.counts["val"]["red"] == usable_red

    # An epoch never meets a bad file, and yields float32 0..255 with one-hot labels.
    for _ in range(2):
        images, labels = _batches(bundle.train)
        assert images.shape[1:] == (*SIZE, 3) and images.dtype == np.float32
        assert images.min() >= 0 and images.max() <= 255
        assert np.allclose(labels.sum(axis=1), 1) and labels.shape[1] == 3
    assert len(images) == sum(bundle.counts["train"].values())
    assert _count(bundle.val) == sum(bundle.counts["val"].values())


def test_every_usable_format_decodes_to_its_colour(tmp_path):
    root = _folder(tmp_path / "d", {"blue": 2, "green": 2, "red": 0})
    _add_hostile(root / "red")
    bundle = _load(_config(root, val_split=0.0, shuffle=False))
    images, labels = _batches(bundle.train)
    red = images[labels.argmax(axis=1) == bundle.class_names.index("red")]
    mean = red.reshape(len(red), -1, 3).mean(axis=1)
    for colour in mean:  # grayscale files are grey; everything else is red
        assert colour[0] > 60, mean


def test_a_file_broken_after_the_check_does_not_end_the_epoch(tmp_path):
    root = _folder(tmp_path / "d")
    bundle = _load(_config(root, cache="none", val_split=0.0))
    victim = root / "red" / "red_0.png"
    victim.write_bytes(victim.read_bytes()[:30])
    assert _count(bundle.train) == 14


# --------------------------------------------------------------------------- layouts and splits


def test_class_folders_give_sorted_classes_and_a_stratified_split(tmp_path):
    root = _folder(tmp_path / "d", {"red": 10, "blue": 7, "green": 3})
    bundle = _load(_config(root, val_split=0.3, seed=1))
    assert bundle.class_names == ["blue", "green", "red"]
    assert bundle.layout == "classes" and bundle.test is None
    for name in bundle.class_names:
        assert bundle.counts["train"][name] >= 1 and bundle.counts["val"][name] >= 1
    assert bundle.counts["val"] == {"blue": 2, "green": 1, "red": 3}

    summary = bundle.summary()  # what a run saves next to its model
    assert summary["class_names"] == ["blue", "green", "red"]
    assert json.loads(json.dumps(summary))["counts"] == bundle.counts

    # Labels follow the sorted names: blue images carry label 0.
    images, labels = _batches(bundle.val)
    blue = images[labels.argmax(axis=1) == 0]
    assert (blue[..., 2] > blue[..., 0]).all()

    # The split depends only on the seed.
    again = _load(_config(root, val_split=0.3, seed=1))
    other = _load(_config(root, val_split=0.3, seed=2))
    assert np.array_equal(_batches(again.val)[0], _batches(bundle.val)[0])
    assert not np.array_equal(_batches(other.val)[0], _batches(bundle.val)[0])


def test_split_folders(tmp_path):
    root = tmp_path / "d"
    _folder(root / "train", {"a": 4, "b": 4})
    _folder(root / "validation", {"a": 2, "b": 2})
    _folder(root / "test", {"a": 1, "b": 3})
    (root / "README.md").write_text("about")
    bundle = _load(_config(root))
    assert bundle.layout == "splits"
    assert bundle.counts == {
        "train": {"a": 4, "b": 4},
        "val": {"a": 2, "b": 2},
        "test": {"a": 1, "b": 3},
    }
    assert _count(bundle.test) == 4
    assert any(entry["path"].endswith("README.md") for entry in bundle.ignored)


def test_train_folder_alone_is_split_like_class_folders(tmp_path):
    root = tmp_path / "d"
    _folder(root / "train", {"a": 5, "b": 5})
    bundle = _load(_config(root, val_split=0.2))
    assert bundle.counts["val"] == {"a": 1, "b": 1}
    assert bundle.test is None


@pytest.mark.parametrize("name", ["train", "Test", "VAL", "validation"])
def test_a_class_folder_named_like_a_split_is_a_class(tmp_path, name):
    root = _folder(tmp_path / "d", {"bus": 3, "car": 3, name: 3})
    bundle = _load(_config(root, val_split=0))
    assert bundle.layout == "classes"
    assert bundle.class_names == sorted(["bus", "car", name])
    assert bundle.counts["train"][name] == 3


def test_a_train_folder_with_images_of_its_own_is_a_class(tmp_path):
    root = _folder(tmp_path / "d", {"bus": 2, "car": 2, "train": 2})
    _folder(root / "train", {"old": 2})  # a sub-folder of the class, found recursively
    bundle = _load(_config(root, val_split=0))
    assert bundle.layout == "classes" and bundle.counts["train"]["train"] == 4


def test_split_layout_lists_folders_next_to_train_as_unused(tmp_path):
    root = tmp_path / "d"
    _folder(root / "train", {"a": 2, "b": 2})
    _folder(root / "val", {"a": 1, "b": 1})
    _folder(root, {"stray": 2})
    _folder(root / "test", {})
    _image(COLOURS["red"]).save(root / "test" / "loose.png")  # images, no class folders
    report = scan(str(root))
    assert report["layout"] == "splits" and report["classes"] == ["a", "b"]
    assert report["unused_folders"] == ["stray", "test"]
    assert _load(_config(root)).test is None


def test_links_to_folders_inside_a_class_are_listed_as_ignored(tmp_path):
    root = _folder(tmp_path / "d", {"a": 2, "b": 2})
    elsewhere = _folder(tmp_path / "elsewhere", {"more": 2}) / "more"
    os.symlink(elsewhere, root / "a" / "linked", target_is_directory=True)
    bundle = _load(_config(root, val_split=0))
    assert bundle.counts["train"] == {"a": 2, "b": 2}
    reasons = {entry["path"]: entry["reason"] for entry in bundle.ignored}
    assert "not followed" in reasons[str(root / "a" / "linked")]


def test_val_split_zero_gives_no_validation(tmp_path):
    bundle = _load(_config(_folder(tmp_path / "d"), val_split=0))
    assert bundle.val is None and sum(bundle.counts["train"].values()) == 15


@pytest.mark.parametrize("cache", ["none", "file"])
def test_cache_modes_give_the_same_images(tmp_path, cache):
    root = _folder(tmp_path / "d")
    setting = str(tmp_path / "cache" / "zoo") if cache == "file" else cache
    reference = _batches(_load(_config(root, shuffle=False)).train)[0]
    bundle = _load(_config(root, shuffle=False, cache=setting))
    for _ in range(2):
        assert np.array_equal(_batches(bundle.train)[0], reference)
    if cache == "file":
        written = sorted(os.listdir(tmp_path / "cache"))
        assert written and all(name.startswith("zoo-") for name in written)
        # Changed files get another cache: a stale one is never read back.
        _image(COLOURS["red"], seed=99).save(root / "red" / "red_0.png")
        _load(_config(root, cache=setting))
        assert len(os.listdir(tmp_path / "cache")) > len(written)


def test_a_file_cache_left_half_written_by_a_killed_run_is_refilled(tmp_path):
    root = _folder(tmp_path / "d")
    cache = tmp_path / "cache"
    setting = str(cache) + os.sep
    reference = _batches(_load(_config(root, shuffle=False, cache=setting)).train)[0]
    (index,) = cache.glob("zoo-data-*.index")
    name = index.name.removesuffix(".index")
    for path in cache.glob(f"{name}.*"):  # the complete cache goes ...
        path.unlink()
    # ... and what TensorFlow leaves when its process dies while filling stays.
    (cache / f"{name}_0.lockfile").write_text("Created at: 1700000000")
    (cache / f"{name}_0.data-00000-of-00001.tempstate123").write_bytes(b"partial")
    bundle = _load(_config(root, shuffle=False, cache=setting))
    assert bundle.cache == setting
    assert np.array_equal(_batches(bundle.train)[0], reference)
    assert not list(cache.glob(f"{name}_*"))
    assert (cache / f"{name}.index").is_file()


def test_a_broken_file_cache_is_one_line(tmp_path):
    root = _folder(tmp_path / "d")
    cache = tmp_path / "cache"
    _load(_config(root, cache=str(cache) + os.sep))
    (index,) = cache.glob("zoo-data-*.index")
    index.write_bytes(b"not a cache index")
    with pytest.raises(ZooError) as caught:
        _load(_config(root, cache=str(cache) + os.sep))
    message = str(caught.value)
    assert "\n" not in message and "data cache" in message and "--cache none" in message


def test_a_cache_folder_that_cannot_be_made_is_a_usage_error(tmp_path):
    root = _folder(tmp_path / "d")
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(UsageError, match="Cannot make the data cache folder"):
        _load(_config(root, cache=str(blocker / "cache") + os.sep))


def test_plan_cache_keeps_memory_only_when_it_fits():
    gib = 2**30
    # 60,000 images at 224x224x3 take 8.4 GiB; a step of 32 about 0.1 GiB.
    assert plan_cache("memory", 60_000, (224, 224), 3, 64 * gib, batch_size=32) == ("memory", "")
    cache, note = plan_cache("memory", 60_000, (224, 224), 3, 16 * gib, batch_size=32)
    assert cache == "none"
    assert "8.4 GiB and a training step of 32 images about 0.1 GiB" in note
    assert "of the 16.0 GiB" in note and "decoded every epoch" in note
    assert plan_cache("memory", 60_000, (32, 32), 3, 16 * gib, batch_size=32) == ("memory", "")
    assert plan_cache("memory", 10**9, (224, 224), 3, None, batch_size=32) == ("memory", "")
    assert plan_cache("/tmp/cache", 10**9, (224, 224), 3, gib, batch_size=32) == (
        "/tmp/cache",
        "",
    )
    assert plan_cache("none", 1, (8, 8), 1, 0, batch_size=1) == ("none", "")


def test_plan_cache_counts_the_training_step():
    gib = 2**30
    # 1,800 images at 1400x1400x3 take 9.9 GiB: half of 24 GiB alone, not with a step of 64.
    assert plan_cache("memory", 1_800, (1400, 1400), 3, 24 * gib, batch_size=1)[0] == "memory"
    cache, note = plan_cache("memory", 1_800, (1400, 1400), 3, 24 * gib, batch_size=64)
    assert cache == "none" and "training step of 64 images" in note
    assert step_bytes(64, (1400, 1400)) > 8 * 10**9  # what such a step was seen to take
    room = 2 * (1_800 * 1400 * 1400 * 3 + step_bytes(64, (1400, 1400)))
    assert plan_cache("memory", 1_800, (1400, 1400), 3, room, batch_size=64)[0] == "memory"


def test_memory_cache_too_big_for_memory_falls_back_to_no_cache(tmp_path, monkeypatch):
    # 15 images at 16x16x3 and a step of 4 (the `_config` batch) fit in half of `room`.
    room = 2 * (15 * 16 * 16 * 3 + step_bytes(4, (16, 16)))
    monkeypatch.setattr(folder_source, "available_memory", lambda: room - 1)
    root = _folder(tmp_path / "d")
    bundle = _load(_config(root, val_split=0.2))
    assert bundle.cache == "none" and "no in-memory cache" in bundle.cache_note
    assert bundle.summary()["cache"] == "none"
    assert _count(bundle.train) == 12 and _count(bundle.val) == 3
    monkeypatch.setattr(folder_source, "available_memory", lambda: room)
    fits = _load(_config(root))
    assert fits.cache == "memory" and fits.cache_note == ""


def test_grayscale_and_sizes(tmp_path):
    bundle = _load(_config(_folder(tmp_path / "d"), channels=1, input_size=(12, 20)))
    images, _ = next(iter(bundle.train))
    assert images.shape[1:] == (12, 20, 1)


def test_augmentation_only_on_train(tmp_path):
    root = _folder(tmp_path / "d", {"blue": 6, "green": 6})
    bundle = _load(_config(root, augment="strong", val_split=0.5, batch_size=6))
    assert bundle.augment["mixup"] > 0
    val_first, val_second = _batches(bundle.val), _batches(bundle.val)
    assert np.array_equal(val_first[0], val_second[0])
    assert set(np.unique(val_first[1])) <= {0.0, 1.0}
    _, labels = _batches(bundle.train)
    assert np.allclose(labels.sum(axis=1), 1, atol=1e-5)
    with pytest.raises(UsageError, match="augment"):
        _load(_config(root, augment="extreme"))
    with pytest.raises(UsageError, match="rotation"):
        _load(_config(root, rotation=3.0))


def test_trains_with_model_fit(tmp_path):
    import keras

    bundle = _load(_config(_folder(tmp_path / "d"), val_split=0.2))
    model = keras.Sequential(
        [keras.Input((*SIZE, 3)), keras.layers.Flatten(), keras.layers.Dense(3, "softmax")]
    )
    model.compile("adam", "categorical_crossentropy")
    history = model.fit(
        bundle.train, validation_data=bundle.val, epochs=2, verbose=0, shuffle=False
    )
    assert len(history.history["loss"]) == 2 and "val_loss" in history.history


# --------------------------------------------------------------------------- refusals


def _expect(config, *fragments):
    with pytest.raises(UsageError) as caught:
        _load(config)
    message = str(caught.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, message


def test_missing_folder_and_file_instead_of_folder(tmp_path):
    _expect(_config(tmp_path / "nowhere"), "not found", "sub-folder")
    archive = tmp_path / "photos.zip"
    archive.write_bytes(b"PK")
    _expect(_config(archive), "is a file", "extract")


def test_empty_class_folder_is_refused_or_dropped(tmp_path):
    root = _folder(tmp_path / "d")
    (root / "empty").mkdir()
    _expect(_config(root), "empty", "--drop-empty-classes")
    bundle = _load(_config(root, drop_empty_classes=True))
    assert bundle.class_names == ["blue", "green", "red"]
    assert bundle.dropped_classes == ["empty"]


def test_class_of_only_bad_files_counts_as_empty(tmp_path):
    root = _folder(tmp_path / "d")
    (root / "broken").mkdir()
    (root / "broken" / "a.jpg").write_bytes(b"")
    _expect(_config(root), "no usable image", "zoo data check")


def test_too_few_classes_or_images(tmp_path):
    _expect(_config(_folder(tmp_path / "one", {"red": 3})), "at least 2")
    _expect(_config(_folder(tmp_path / "none", {})), "no class sub-folders")
    _expect(_config(_folder(tmp_path / "single", {"red": 3, "blue": 1})), "only 1", "val-split")
    flat = tmp_path / "flat"
    flat.mkdir()
    _image(COLOURS["red"]).save(flat / "loose.png")
    _expect(_config(flat), "no class sub-folders")


def test_split_missing_a_class(tmp_path):
    root = tmp_path / "d"
    _folder(root / "train", {"a": 3, "b": 3, "c": 3})
    _folder(root / "val", {"a": 2, "c": 1})
    _expect(_config(root), "no folder for class 'b'")
    bundle = _load(_config(root, drop_empty_classes=True))
    assert bundle.class_names == ["a", "c"] and bundle.dropped_classes == ["b"]
    assert _count(bundle.train) == 6


def test_val_without_train_and_two_validation_folders(tmp_path):
    root = tmp_path / "d"
    _folder(root / "val", {"a": 2, "b": 2})
    _expect(_config(root), "no train/")
    _folder(root / "train", {"a": 2, "b": 2})
    _folder(root / "validation", {"a": 2, "b": 2})
    _expect(_config(root), "keep one")


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"val_split": 1.0}, "val_split must be in [0, 1)"),
        ({"val_split": -0.1}, "val_split must be in [0, 1)"),
        ({"val_split": "lots"}, "val_split must be a number"),
        ({"batch_size": 0}, "batch_size"),
        ({"channels": 2}, "channels"),
        ({"interpolation": "fancy"}, "interpolation"),
        ({"max_pixels": 0}, "max_pixels must be at least 1"),
        ({"cache": "memroy"}, "Did you mean: memory"),
        ({"classes": 2}, "pass --classes 3"),
        ({"dataset": "mnist"}, "not both"),
    ],
)
def test_bad_settings(tmp_path, overrides, fragment):
    _expect(_config(_folder(tmp_path / "d"), **overrides), fragment)


# --------------------------------------------------------------------------- shapes


def test_no_data_means_the_builtin_shapes():
    bundle = _load(_config(None, input_size=SIZE, classes=3, shapes_per_class=10, batch_size=8))
    assert bundle.layout == "shapes" and bundle.class_names == ["circle", "square", "triangle"]
    assert bundle.counts["train"] == {"circle": 8, "square": 8, "triangle": 8}
    assert bundle.counts["val"]["circle"] == 2 and bundle.test is not None
    first, again = (
        _batches(bundle.val),
        _batches(_load(_config(None, input_size=SIZE, classes=3, shapes_per_class=10)).val),
    )
    assert np.array_equal(first[0], again[0])
    default = _load(_config(None, input_size=SIZE, shapes_per_class=2, val_split=0.5))
    assert len(default.class_names) == 10
    with pytest.raises(UsageError, match="2 to 20"):
        _load(_config(None, input_size=SIZE, classes=21))


# --------------------------------------------------------------------------- tensorflow-datasets


class ZooTestColours(tfds.core.GeneratorBasedBuilder):
    """A tiny image classification dataset that prepares itself without downloads."""

    VERSION = tfds.core.Version("1.0.0")

    def _info(self):
        return tfds.core.DatasetInfo(
            builder=self,
            features=tfds.features.FeaturesDict(
                {
                    "image": tfds.features.Image(shape=(None, None, 3)),
                    "label": tfds.features.ClassLabel(names=["red", "green", "blue"]),
                }
            ),
            supervised_keys=("image", "label"),
        )

    def _split_generators(self, dl_manager):
        return {"train": self._generate_examples(12), "test": self._generate_examples(6)}

    def _generate_examples(self, count):
        colours = [(220, 30, 30), (30, 200, 40), (20, 40, 230)]
        for index in range(count):
            pixels = np.asarray(_image(colours[index % 3], seed=index))
            yield f"{count}-{index}", {"image": pixels, "label": index % 3}


@pytest.fixture(scope="module")
def tfds_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("tfds")
    tfds.builder("zoo_test_colours", data_dir=str(root)).download_and_prepare()
    return str(root)


def test_tfds_dataset_prepared_on_disk(tfds_dir):
    bundle = _load(
        _config(None, dataset="zoo_test_colours", tfds_dir=tfds_dir, input_size=SIZE, batch_size=4)
    )
    assert bundle.class_names == ["red", "green", "blue"] and bundle.layout == "tfds"
    # No validation split in the dataset: a stratified share of train.
    assert bundle.counts["val"] == {"red": 1, "green": 1, "blue": 1}
    assert bundle.counts["train"] == {"red": 3, "green": 3, "blue": 3}
    assert bundle.counts["test"] == {"red": 2, "green": 2, "blue": 2}
    images, labels = _batches(bundle.test)
    assert images.shape == (6, *SIZE, 3)
    channel = images.reshape(6, -1, 3).mean(axis=1).argmax(axis=1)
    assert np.array_equal(channel, labels.argmax(axis=1))  # red in red, ...
    cached = _load(
        _config(
            None,
            dataset="zoo_test_colours",
            tfds_dir=tfds_dir,
            input_size=SIZE,
            cache="none",
            val_split=0,
        )
    )
    assert cached.val is None and _count(cached.train) == 12


def test_tfds_not_prepared_says_how_to_prepare(tmp_path, monkeypatch):
    empty = str(tmp_path / "empty")
    config = _config(None, dataset="zoo_test_colours", tfds_dir=empty, download=False)
    with pytest.raises(DataUnavailableError) as caught:
        _load(config)
    assert "tfds build zoo_test_colours --data_dir" in str(caught.value)
    monkeypatch.setattr(tfds_prepare, "_online", lambda *args: False)
    with pytest.raises(DataUnavailableError, match="offline"):
        _load(_config(None, dataset="mnist", tfds_dir=empty))


def test_tfds_preparation_reports_on_stderr(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(tfds_prepare, "_online", lambda *args: True)
    builder = tfds_prepare.open_builder("zoo_test_colours", str(tmp_path), download=True)
    assert builder.is_prepared()
    out, err = capsys.readouterr()
    assert out == ""
    assert "zoo_test_colours" in err


def test_tfds_unknown_name_suggests_close_ones(tmp_path):
    with pytest.raises(UnknownNameError, match="cifar10"):
        _load(_config(None, dataset="cifar10x", tfds_dir=str(tmp_path)))


# --------------------------------------------------------------------------- scan


def test_scan_reports_what_check_shows(tmp_path):
    root = tmp_path / "d"
    _folder(root / "train", {"blue": 3, "red": 2})
    _folder(root / "val", {"blue": 1, "red": 0})
    expected = _add_hostile(root / "train" / "red")
    report = scan(str(root), max_pixels=10_000)
    for key in ("classes", "counts", "images", "bad", "ignored", "empty_classes", "problems"):
        assert key in report
    assert report["layout"] == "splits" and report["classes"] == ["blue", "red"]
    assert report["counts"]["train"]["red"] == 2 + len(expected["usable"])
    assert report["counts"]["val"] == {"blue": 1, "red": 0}
    assert report["empty_classes"] == ["val/red"]
    assert any("val/red" in problem for problem in report["problems"])
    assert {os.path.basename(e["path"]) for e in report["bad"]} == set(expected["bad"])
    images = report["images"]
    assert images["usable"] == 3 + 2 + 1 + len(expected["usable"])
    assert images["width"]["min"] == 20 and images["height"]["max"] == 24
    assert set(images["formats"]) == {"BMP", "GIF", "JPEG", "PNG"}
    json.dumps(report)  # JSON-able


def test_scan_flat_layout_counts_per_class(tmp_path):
    report = scan(str(_folder(tmp_path / "d", {"a": 3, "b": 2})))
    assert report["counts"] == {"a": 3, "b": 2} and report["problems"] == []
    with pytest.raises(UsageError, match="not found"):
        scan(str(tmp_path / "missing"))


def test_scan_and_training_agree_on_a_file_pillow_refuses(tmp_path):
    root = _folder(tmp_path / "d", {"a": 2, "b": 2})
    _bad_crc_png(root / "a" / "bad_crc.png")
    report = scan(str(root))
    bundle = _load(_config(root, val_split=0))
    assert report["counts"] == bundle.counts["train"] == {"a": 3, "b": 2}
    assert report["bad"] == bundle.bad == []
    assert report["images"]["formats"] == {"PNG": 5}
    assert report["images"]["modes"] == {"RGB": 4, "unknown": 1}


def test_scan_lists_classes_too_small_to_split(tmp_path):
    root = _folder(tmp_path / "d", {"a": 3, "b": 1})
    (root / "b" / "broken.png").write_bytes(b"")
    report = scan(str(root))
    with pytest.raises(UsageError) as caught:
        _load(_config(root))
    assert report["problems"] == [str(caught.value).removesuffix(".")]
    assert "Class 'b' has only 1 usable image" in report["problems"][0]
    split = tmp_path / "s"
    _folder(split / "train", {"a": 3, "b": 1})
    _folder(split / "val", {"a": 1, "b": 1})
    assert scan(str(split))["problems"] == []  # val/ given: train/ is not split


def test_the_training_decoder_is_the_check_decoder(tmp_path, monkeypatch):
    """`scan` and `load_data` decode only through `decode.decode_and_measure`."""
    from recipes.data import decode

    calls = set()
    real = decode.decode_and_measure

    def spy(*args, **kwargs):
        calls.add(tuple(args[1:]))
        return real(*args, **kwargs)

    monkeypatch.setattr(decode, "decode_and_measure", spy)
    root = _folder(tmp_path / "d", {"a": 2, "b": 2})
    scan(str(root))
    assert calls == {((32, 32), 3, "bilinear")}  # the check pass's size
    _load(_config(root, val_split=0, cache="none", input_size=(12, 20), interpolation="area"))
    assert calls == {((32, 32), 3, "bilinear"), ((12, 20), 3, "area")}


def test_builtin_shapes_as_a_tfds_dataset(tmp_path):
    bundle = _load(
        _config(None, dataset="zoo_shapes/classes_3", tfds_dir=str(tmp_path), input_size=SIZE)
    )
    assert bundle.class_names == ["circle", "square", "triangle"]
    assert bundle.counts["train"]["circle"] == 80 and bundle.counts["val"]["square"] == 20
    assert bundle.counts["test"]["triangle"] == 20
