"""`zoo neighbors`: a training image's nearest neighbour is itself."""

import json

import pytest
from PIL import Image

from recipes.understand.neighbors import neighbors
from zoo.errors import UsageError


@pytest.fixture(scope="module")
def training_folder(tmp_path_factory):
    from recipes.data.shapes import write_folder

    return write_folder(
        tmp_path_factory.mktemp("train"), num_classes=3, count_per_class=4, image_size=32
    )


def test_a_training_image_finds_itself_first(shapes_run, training_folder, tmp_path):
    query = sorted((training_folder / "square").iterdir())[1]
    result = neighbors(shapes_run, [str(query)], str(training_folder), k=3, output_dir=tmp_path)
    assert result["layer"] == "avg_pool"
    (entry,) = result["queries"]
    found = entry["neighbors"]
    assert len(found) == 3
    assert found[0]["path"] == str(query) and found[0]["class"] == "square"
    assert found[0]["distance"] == pytest.approx(0.0, abs=1e-3)
    assert [item["distance"] for item in found] == sorted(item["distance"] for item in found)
    assert json.loads((tmp_path / f"{query.stem}.json").read_text())["neighbors"] == found
    width, height = Image.open(entry["png"]).size
    assert (width, height) == (720, 230)


def test_unreadable_files_in_the_folder_are_reported(shapes_run, training_folder, tmp_path):
    import shutil

    folder = tmp_path / "data"
    shutil.copytree(training_folder, folder)
    (folder / "circle" / "broken.jpg").write_bytes(b"\xff\xd8\xff not a jpeg")
    query = next((folder / "circle").glob("*_*.jpg"))
    result = neighbors(shapes_run, [str(query)], str(folder), k=2, output_dir=tmp_path / "out")
    assert [entry["path"] for entry in result["bad"]] == [str(folder / "circle" / "broken.jpg")]


def test_a_folder_of_other_classes_is_refused(shapes_run, training_folder, tmp_path):
    (tmp_path / "cats").mkdir()
    query = next(training_folder.rglob("*.jpg"))
    with pytest.raises(UsageError, match="is a class of the model"):
        neighbors(shapes_run, [str(query)], str(tmp_path), output_dir=tmp_path / "out")
