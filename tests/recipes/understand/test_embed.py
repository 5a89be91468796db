"""`zoo embed`: a 2-D map, the k-NN accuracy and a projector export TensorBoard reads."""

import json

import numpy as np
import pytest
from google.protobuf import text_format
from PIL import Image
from tensorboard.plugins.projector import ProjectorConfig

from recipes.understand.embed import embed, knn_accuracy
from zoo.errors import UsageError


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    from recipes.data.shapes import write_folder

    return write_folder(
        tmp_path_factory.mktemp("data"), num_classes=3, count_per_class=5, image_size=32
    )


@pytest.mark.parametrize("method", ["pca", "tsne"])
def test_a_map_a_score_and_a_projector_export(shapes_run, folder, tmp_path, method):
    result = embed(shapes_run, str(folder), method=method, max_images=12, output_dir=tmp_path)
    assert result["images"] == 12 and result["layer"] == "avg_pool"
    assert 0.0 <= result["knn_accuracy"] <= 1.0
    assert Image.open(result["files"]["png"]).size == (900, 800)
    projector = tmp_path / "projector"
    rows = (projector / "tensors.tsv").read_text().splitlines()
    assert len(rows) == 12 and len(rows[0].split("\t")) == 512
    metadata = (projector / "metadata.tsv").read_text().splitlines()
    assert metadata[0] == "class\tpath" and len(metadata) == 13
    config = text_format.Parse(
        (projector / "projector_config.pbtxt").read_text(), ProjectorConfig()
    )
    (embedding,) = config.embeddings
    assert embedding.tensor_path == "tensors.tsv" and embedding.sprite.image_path == "sprite.png"
    side = embedding.sprite.single_image_dim[0]
    assert Image.open(projector / "sprite.png").size == (4 * side, 4 * side)


def test_the_same_call_gives_the_same_picture(shapes_run, folder, tmp_path):
    first = embed(shapes_run, str(folder), method="tsne", max_images=9, output_dir=tmp_path / "a")
    second = embed(shapes_run, str(folder), method="tsne", max_images=9, output_dir=tmp_path / "b")
    assert open(first["files"]["png"], "rb").read() == open(second["files"]["png"], "rb").read()


def test_knn_accuracy_leaves_each_point_out():
    features = np.array([[0.0], [0.1], [0.2], [5.0], [5.1], [5.2]])
    assert knn_accuracy(features, np.array([0, 0, 0, 1, 1, 1]), k=2) == 1.0
    assert knn_accuracy(features, np.array([0, 1, 0, 1, 0, 1]), k=1) == 0.0


def test_too_few_images_or_a_bad_method_are_refused(shapes_run, folder, tmp_path):
    with pytest.raises(UsageError, match="at least 3"):
        embed(shapes_run, str(folder), max_images=2, output_dir=tmp_path)
    with pytest.raises(UsageError, match="pca, tsne"):
        embed(shapes_run, str(folder), method="umap", output_dir=tmp_path)


def test_tensorboard_on_the_run_directory_finds_the_projector(shapes_run, folder, tmp_path):
    import shutil

    from tensorboard.plugins.base_plugin import TBContext
    from tensorboard.plugins.projector.projector_plugin import ProjectorPlugin
    from werkzeug.test import Client

    run = shutil.copytree(shapes_run, tmp_path / "run")  # the default output is inside the run
    embed(run, str(folder), max_images=9)
    embed(run, str(folder), max_images=6)  # again: the run's entry is replaced, not added
    # What `tensorboard --logdir RUN` serves to the projector's page in a browser.
    apps = ProjectorPlugin(TBContext(logdir=str(run), data_provider=None)).get_plugin_apps()
    assert json.loads(Client(apps["/runs"]).get("/runs").data) == ["."]
    info = json.loads(Client(apps["/info"]).get("/info?run=.").data)
    (embedding,) = info["embeddings"]
    assert embedding["tensorName"] == "embed/projector"
    assert embedding["tensorShape"] == [6, 512]
    tensor = Client(apps["/tensor"]).get("/tensor?run=.&name=embed/projector")
    assert len(tensor.data) == 6 * 512 * 4  # float32 values, as the page reads them
