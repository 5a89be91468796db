"""`zoo serve` keeps TF Serving's version policy when versions are broken, replaced or odd."""

import os
import shutil
import subprocess

import keras
import numpy as np
import pytest

from recipes.serving.export import export_model, list_versions
from recipes.serving.server import make_server
from tests.serving_client import b64, png, request, serving, stop


@pytest.fixture(scope="module")
def exported(tmp_path_factory, shapes_run):
    root = tmp_path_factory.mktemp("versions") / "saved_models"
    export_model(shapes_run, output=root, name="pets")
    return root


@pytest.fixture
def served(tmp_path, exported):
    root = tmp_path / "saved_models"
    shutil.copytree(exported, root)
    server = make_server(root / "pets", port=0)
    thread, host, port = serving(server)
    image = np.random.default_rng(4).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    yield {
        "base": f"http://{host}:{port}/v1/models/pets",
        "root": root,
        "model_dir": root / "pets",
        "body": {"instances": [b64(png(image))]},
    }
    stop(server, thread)


def probabilities(served):
    status, answer = request(served["base"] + ":predict", served["body"])
    assert status == 200, answer
    return answer["predictions"][0]["probabilities"]


def states(served):
    status, answer = request(served["base"])
    assert status == 200, answer
    return {
        v["version"]: (v["state"], v["status"]["error_message"])
        for v in answer["model_version_status"]
    }


def test_a_broken_newest_version_leaves_the_last_good_one_serving(served):
    before = probabilities(served)
    (served["model_dir"] / "99").mkdir()
    assert probabilities(served) == before
    versions = states(served)
    assert versions["1"] == ("AVAILABLE", "")
    assert versions["99"][0] == "END" and "Version 99 of pets" in versions["99"][1]
    status, answer = request(served["base"] + "/versions/99:predict", served["body"])
    assert status == 404
    shutil.copytree(served["model_dir"] / "1", served["model_dir"] / "99", dirs_exist_ok=True)
    assert probabilities(served) == pytest.approx(before, abs=1e-6)
    assert states(served)["99"] == ("AVAILABLE", "")


def test_a_newer_version_holding_a_fifo_is_skipped_and_the_server_answers(served):
    before = probabilities(served)
    version = served["model_dir"] / "2"
    shutil.copytree(served["model_dir"] / "1", version)
    (version / "variables" / "variables.data-00000-of-00001").unlink()
    os.mkfifo(version / "variables" / "variables.data-00000-of-00001")  # no writer: never ends
    assert probabilities(served) == before  # the request returns: nothing waited on the FIFO
    state, message = states(served)["2"]
    assert state == "END" and "is not a regular file" in message


def test_overwriting_the_served_version_reloads_it(served, shapes_run, tmp_path):
    before = probabilities(served)
    changed = tmp_path / "changed"
    shutil.copytree(shapes_run, changed)
    model = keras.saving.load_model(changed / "model.keras")
    dense = next(layer for layer in reversed(model.layers) if layer.weights)
    dense.set_weights([weight[..., ::-1] for weight in dense.get_weights()])  # classes swap
    model.save(changed / "model.keras")
    export_model(changed, output=served["root"], name="pets", version=1, overwrite=True)
    after = probabilities(served)
    assert not np.allclose(after, before, atol=1e-4)
    assert states(served) == {"1": ("AVAILABLE", "")}


def test_only_ascii_integer_folders_are_versions_and_stale_staging_is_removed(served, shapes_run):
    model_dir = served["model_dir"]
    for odd in ("²", "١٢", "07", "3a"):
        (model_dir / odd).mkdir()
    assert list_versions(model_dir) == [1]
    assert states(served) == {"1": ("AVAILABLE", "")}
    finished = subprocess.Popen(["true"])
    finished.wait()  # its pid belongs to no process now
    dead_pid = finished.pid
    abandoned = model_dir / f".tmp-{dead_pid}-0123abcd"
    (abandoned / "variables").mkdir(parents=True)
    ours = model_dir / f".tmp-{os.getpid()}-89abcdef"  # a live export's staging
    ours.mkdir()
    result = export_model(shapes_run, output=served["root"], name="pets")
    assert result["version"] == 2
    assert not abandoned.exists() and ours.exists()
    assert states(served) == {"2": ("AVAILABLE", ""), "1": ("END", "")}
