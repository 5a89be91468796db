"""RunLayout: the one owner of a run directory's files, its lock and resume checks."""

import json
import multiprocessing
import os
import zipfile

import keras
import numpy as np
import pytest

import zoo
from recipes.config import resolve_config
from recipes.run.layout import RunLayout
from zoo.batchnorm import FusedBatchNormalization
from zoo.conv_gradient import FastGradientConv2D
from zoo.errors import UsageError
from zoo.fast_layers import use_fast_layers


def config(**settings):
    return resolve_config({"arch": "resnet18", **settings})


def test_generated_directories_never_collide(tmp_path):
    first = RunLayout.create(config(), "resnet18", root=str(tmp_path))
    second = RunLayout.create(config(), "resnet18", root=str(tmp_path))
    assert first.path != second.path
    assert first.file(RunLayout.CONFIG).is_file()
    assert first.config() == config()
    assert first.read_config()["fingerprint"] == config().fingerprint()


def test_existing_output_is_not_clobbered(tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "model.keras").write_text("precious")
    with pytest.raises(UsageError, match="--resume"):
        RunLayout.create(config(output=str(tmp_path / "run")), "x")
    assert (tmp_path / "run" / "model.keras").read_text() == "precious"


def _try_lock(path, queue):
    run = RunLayout(path)
    try:
        run.lock()
        queue.put("locked")
    except UsageError as error:
        queue.put(str(error))


def test_a_second_process_is_refused_while_the_lock_is_held(tmp_path):
    run = RunLayout.create(config(output=str(tmp_path / "r")), "x")
    queue = multiprocessing.get_context("spawn").Queue()
    process = multiprocessing.get_context("spawn").Process(target=_try_lock, args=(run.path, queue))
    process.start()
    process.join(60)
    message = queue.get(timeout=5)
    assert "in use by another zoo process" in message
    assert str(os.getpid()) in message
    run.unlock()


def test_resume_refuses_a_changed_config(tmp_path):
    out = str(tmp_path / "r")
    run = RunLayout.create(config(output=out), "x")
    run.write_json(RunLayout.STATE, {"epochs_done": 1, "phase": "train", "best": 0.5})
    run.file(RunLayout.LAST).write_text("x")
    run.unlock()
    with pytest.raises(UsageError, match="changed: lr"):
        RunLayout.reopen(config(output=out, lr=0.5, resume=True))
    again = RunLayout.reopen(config(output=out, resume=True))
    assert again.state()["epochs_done"] == 1
    again.unlock()


def test_a_run_without_a_complete_checkpoint_reopens_to_start_again(tmp_path):
    with pytest.raises(UsageError, match="not a zoo run directory"):
        RunLayout.reopen(config(output=str(tmp_path), resume=True))
    out = str(tmp_path / "r")
    run = RunLayout.create(config(output=out), "x")
    run.file(RunLayout.LAST).write_text("x")  # killed before state.json was written
    run.unlock()
    again = RunLayout.reopen(config(output=out, resume=True))
    assert not again.has_checkpoint
    again.forget_progress()
    assert not again.file(RunLayout.LAST).exists()
    again.unlock()


def test_history_round_trip(tmp_path):
    run = RunLayout.create(config(output=str(tmp_path / "r")), "x")
    rows = [
        {"epoch": 1, "phase": "train", "loss": 1.5},
        {"epoch": 2, "phase": "train", "loss": 1.0},
    ]
    run.write_history(rows)
    assert run.history() == rows
    run.unlock()


def test_class_names_are_checked(tmp_path):
    run = RunLayout(tmp_path)
    assert run.class_names() is None
    run.write_class_names(["a", "b"])
    assert run.class_names() == ["a", "b"]
    run.file(RunLayout.CLASS_NAMES).write_text('["a", "a"]')
    with pytest.raises(UsageError, match="twice"):
        run.class_names()


def test_checkpoints_copy_the_best_whole_and_leave_no_partial_file(tmp_path):
    run = RunLayout(tmp_path)
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    run.save_checkpoint(model, best=True)
    assert run.file(RunLayout.BEST).read_bytes() == run.file(RunLayout.LAST).read_bytes()
    model.layers[0].kernel.assign([[5.0], [5.0]])
    run.save_checkpoint(model, best=False)
    assert run.file(RunLayout.BEST).read_bytes() != run.file(RunLayout.LAST).read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == [RunLayout.BEST, RunLayout.LAST]


def test_models_are_saved_with_keras_layers_and_stay_fast(tmp_path):
    model = keras.Sequential(
        [
            keras.Input((4, 4, 2)),
            keras.layers.Conv2D(3, 3, name="conv"),
            keras.layers.BatchNormalization(name="bn"),
        ]
    )
    use_fast_layers(model)
    RunLayout(tmp_path).save_model(model, RunLayout.MODEL)
    assert type(model.get_layer("bn")) is FusedBatchNormalization
    assert type(model.get_layer("conv")) is FastGradientConv2D
    loaded = keras.saving.load_model(tmp_path / RunLayout.MODEL)
    assert type(loaded.get_layer("bn")) is keras.layers.BatchNormalization
    assert type(loaded.get_layer("conv")) is keras.layers.Conv2D


def _policies(config):
    """The names of the dtype policies a saved model's config records."""
    if isinstance(config, list):
        return set().union(*map(_policies, config))
    if not isinstance(config, dict):
        return set()
    if config.get("class_name") == "DTypePolicy":
        return {config["config"]["name"]}
    return set().union(*map(_policies, config.values()))


def test_models_trained_in_mixed_precision_are_saved_as_float32(tmp_path):
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        model = zoo.build_model("resnet20", input_shape=(16, 16, 3), classifier_activation=None)
    finally:
        keras.config.set_dtype_policy("float32")
    RunLayout(tmp_path).save_model(model, RunLayout.MODEL)
    assert {layer.dtype_policy.name for layer in model.layers} >= {"mixed_bfloat16"}  # as it was

    config = json.loads(zipfile.ZipFile(tmp_path / RunLayout.MODEL).read("config.json"))
    assert _policies(config) == {"float32"}
    loaded = keras.saving.load_model(tmp_path / RunLayout.MODEL)
    assert {layer.dtype_policy.name for layer in loaded.layers} == {"float32"}
    reference = zoo.build_model("resnet20", input_shape=(16, 16, 3), classifier_activation=None)
    reference.set_weights(model.get_weights())
    images = np.random.default_rng(0).uniform(0, 255, (4, 16, 16, 3)).astype("float32")
    logits = np.asarray(loaded(images))
    assert logits.dtype == np.float32
    np.testing.assert_allclose(logits, np.asarray(reference(images)), rtol=1e-5, atol=1e-5)
    trained = np.asarray(keras.ops.cast(model(images), "float32"))
    scale = np.abs(logits).max()
    np.testing.assert_allclose(logits, trained, atol=0.05 * scale)  # bfloat16's rounding


@pytest.mark.parametrize(
    ("keep", "kept"),
    [
        ("best", [RunLayout.BEST]),
        ("last", [RunLayout.LAST]),
        ("all", [RunLayout.BEST, RunLayout.LAST]),
        ("none", []),
    ],
)
def test_a_finished_run_keeps_the_checkpoints_asked_for(tmp_path, keep, kept):
    run = RunLayout(tmp_path)
    for name in (RunLayout.BEST, RunLayout.LAST):
        run.file(name).write_text("x")
    run.drop_checkpoints(keep)  # not finished: --resume needs them
    assert run.file(RunLayout.LAST).is_file() and run.file(RunLayout.BEST).is_file()
    run.file(RunLayout.MODEL).write_text("m")
    run.drop_checkpoints(keep)
    assert sorted(p.name for p in tmp_path.glob("*.keras")) == sorted([*kept, RunLayout.MODEL])


def test_resume_may_change_what_is_kept_and_config_yaml_says_so(tmp_path):
    out = str(tmp_path / "r")
    run = RunLayout.create(config(output=out, keep_checkpoints="all"), "x")
    run.unlock()
    again = RunLayout.reopen(config(output=out, keep_checkpoints="none", resume=True))
    again.unlock()
    assert again.config().run.keep_checkpoints == "none"
    assert again.read_config()["fingerprint"] == config().fingerprint()


def test_what_is_a_run_and_who_holds_it(tmp_path):
    run = RunLayout.create(config(output=str(tmp_path / "r")), "x")
    assert run.is_run
    assert run.holder() == str(os.getpid()) and run.status() == RunLayout.RUNNING
    run.unlock()
    assert run.holder() is None and run.status() == RunLayout.INTERRUPTED
    other = tmp_path / "other"
    other.mkdir()
    (other / "config.yaml").write_text("lr: 1\n")  # another tool's file
    assert not RunLayout(other).is_run
    assert RunLayout(other).holder() is None and not (other / RunLayout.LOCK).exists()
    (other / "config.yaml").write_text("fingerprint: abc\n")  # a run that lost its lock file
    assert RunLayout(other).is_run and RunLayout(other).status() == RunLayout.BROKEN


def test_remove_takes_only_run_directories(tmp_path):
    run = RunLayout.create(config(output=str(tmp_path / "r")), "x")
    with pytest.raises(UsageError, match="in use"):
        RunLayout(run.path).remove()
    run.unlock()
    os.symlink(run.path, tmp_path / "link")
    with pytest.raises(UsageError, match="not a run directory"):
        RunLayout(tmp_path / "link").remove()
    with pytest.raises(UsageError, match="interrupted now"):
        RunLayout(run.path).remove(expected=RunLayout.FINISHED)
    RunLayout(run.path).remove(expected=RunLayout.INTERRUPTED)
    assert not run.path.exists() and (tmp_path / "link").is_symlink()


def test_config_yaml_with_an_alias_bomb_is_refused_unexpanded(tmp_path):
    run = RunLayout.create(config(output=str(tmp_path / "r")), "x")
    run.unlock()
    levels = ["&a0 [1, 1]", *(f"&a{i} [*a{i - 1}, *a{i - 1}]" for i in range(1, 40))]
    (run.path / RunLayout.CONFIG).write_text(f"fingerprint: abc\nbomb: [{', '.join(levels)}]\n")
    with pytest.raises(UsageError, match="anchors and aliases"):
        run.read_config()
    assert run.status() == RunLayout.BROKEN
