"""`zoo bench data`'s measurement: both sides read the same images."""

from recipes.bench.data import measure_throughput
from recipes.data.shapes import write_folder


def test_measure_throughput_reads_train_of_the_split_layout_on_both_sides(tmp_path):
    root = write_folder(tmp_path / "d", 2, 3, 20, image_format="png", splits=("train", "val"))
    report = measure_throughput(str(root), epochs=1, rounds=1, image_size=16)
    assert report["images"] == report["keras_images"] == 6
    assert report["read_dir"] == str(root / "train")
    assert report["ratio"] > 0
