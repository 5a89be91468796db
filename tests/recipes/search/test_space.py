"""Search spaces: the defaults per mode, and space files checked against the run schema."""

import pytest

from recipes.search.space import RATIO, default_space, parse_param, study_space
from zoo.errors import UsageError


def write(tmp_path, text):
    path = tmp_path / "space.yaml"
    path.write_text(text)
    return str(path)


def test_default_spaces():
    scratch = default_space("train", ["resnet18"])
    assert {"lr", "optimizer", "weight_decay", "label_smoothing", "batch_size", "augment"} <= set(
        scratch
    )
    assert scratch["lr"].log and scratch["weight_decay"].log
    assert "arch" not in scratch
    assert default_space("train", ["resnet18", "lenet5"])["arch"].values == ("resnet18", "lenet5")
    finetune = default_space("finetune", [])
    assert {"head_epochs", "unfreeze", RATIO, "dropout"} <= set(finetune)
    assert finetune[RATIO].log


def test_a_space_file_narrows_fixes_and_removes(tmp_path):
    path = write(
        tmp_path,
        "lr: {min: 1e-3, max: 1e-2, log: true}\n"
        "optimizer: {values: [adam]}\n"
        "label_smoothing: 0.05\n"
        "augment: null\n"
        "epochs: {min: 1, max: 3}\n",
    )
    space = study_space("train", ["lenet5"], ["batch_size"], path)
    assert (space["lr"].low, space["lr"].high, space["lr"].log) == (1e-3, 1e-2, True)
    assert space["optimizer"].values == ("adam",)
    assert space["label_smoothing"].kind == "fixed" and space["label_smoothing"].values == (0.05,)
    assert "augment" not in space
    assert space["epochs"].kind == "int"
    assert "batch_size" not in space  # given on the command line: fixed


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("learning_rate: {min: 0.001, max: 0.1}", "Unknown space parameter 'learning_rate'"),
        ("lr: {min: 0.1, max: 0.01}", "min > max"),
        ("lr: {min: 0.01, max: 0.01}", "range is empty"),
        ("weight_decay: {min: 0, max: 0.01, log: true}", "log range must stay above 0"),
        ("batch_size: {values: [32, sixty-four]}", "batch_size must be an integer"),
        ("optimizer: {values: [adam, adamm]}", "optimizer must be one of"),
        ("dropout: {min: 0.1, max: 1.5}", r"dropout must be in \[0, 1\)"),
        ("lr: {min: 0.001}", "is a range {min, max}"),
        ("optimizer: {min: 1, max: 2}", "not a number"),
        ("optimizer: {values: []}", "non-empty list"),
        ("- lr", "mapping"),
        (f"{RATIO}: 0.01", "applies to fine-tuning"),
        ("label_smoothing: {min: 0, max: 0.5, step: 1.0e-300}", "a grid holds at most 10,000"),
        ("label_smoothing: {min: 0, max: 0.5, step: .nan}", "step must be a positive number"),
        ("label_smoothing: {min: 0, max: 0.5, step: .inf}", "step must be a positive number"),
        ("lr: {min: 0.0001, max: 0.1, log: true, step: 0.5}", "step must be a number above 1"),
        ("image_size: {min: 32, max: 100000}", r"image_size must be in \[1, 4096\]"),
    ],
)
def test_bad_space_files_are_one_line(tmp_path, text, message):
    with pytest.raises(UsageError, match=message) as caught:
        study_space("train", ["lenet5"], path=write(tmp_path, text))
    assert "\n" not in str(caught.value)


def test_unknown_parameters_suggest_the_closest():
    with pytest.raises(UsageError, match="Did you mean: lr"):
        parse_param("lrr", {"min": 0.001, "max": 0.1})


def test_the_ratio_is_a_finetune_parameter():
    param = parse_param(RATIO, {"min": 1e-3, "max": 1e-1, "log": True}, "finetune")
    assert param.kind == "float" and param.log


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("epochs", {"values": [10**5000, 10**5000]}, "epochs"),
        ("lr", {"min": 10**400, "max": 1}, "lr"),
        ("batch_size", {"min": 10**5000, "max": 2}, "min > max"),
        ("lr", {"min": 0.1, "max": 0.2, "step": "x" * 1_000_000}, "step must be"),
        ("optimizer", {"values": ["adam"] * 1_000_000}, "lists a value twice"),
        ("x" * 1_000_000, 1, "Unknown space parameter"),
        ("lr", {"min": 0.1, "max": 0.2, "typo": list(range(1_000_000))}, "is a range"),
    ],
)
def test_huge_values_make_short_messages(name, value, message):
    with pytest.raises(UsageError, match=message) as info:
        parse_param(name, value)
    assert len(str(info.value)) < 400
