"""`zoo lr-find`, `zoo train --overfit N` and `--lr auto` on the command line."""

from click.testing import CliRunner

from cli.main import cli as zoo_cli

TINY = ["--arch", "lenet5", "--image-size", "32", "--classes", "3", "--shapes-per-class", "8"]


def invoke(*args):
    return CliRunner().invoke(zoo_cli, [str(a) for a in args])


def test_lr_find_prints_the_suggestion_and_the_picture(tmp_path):
    result = invoke("lr-find", *TINY, "--steps", "20", "--output", tmp_path / "find")
    assert result.exit_code == 0, result.output
    line, png = result.stdout.strip().splitlines()
    assert line.startswith("suggested learning rate") and png.endswith("lr_find.png")


def test_lr_find_bad_input_is_one_line_and_writes_nothing(tmp_path):
    cases = [
        ("--start-lr", "1", "--end-lr", "0.1"),
        ("--start-lr", "0"),
        ("--steps", "2"),
        ("--base", "resnet18", "--weights", "none"),  # --arch and --base together
    ]
    for extra in cases:
        result = invoke("lr-find", *TINY, *extra, "--output", tmp_path / "out")
        assert result.exit_code == 2, (extra, result.output)
        assert result.output.startswith("error: ") and len(result.output.splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_overfit_passes_on_sound_data_and_refuses_zero(tmp_path):
    result = invoke("train", *TINY, "--lr", "0.003", "--overfit", "8", "--precision", "fp32")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("PASS: 8 images")
    for bad in ("0", "-3", "100000"):
        result = invoke("train", *TINY, "--overfit", bad, "--output", tmp_path / "run")
        assert result.exit_code == 2, (bad, result.output)
        assert "--overfit" in result.output and len(result.output.splitlines()) == 1
    assert not (tmp_path / "run").exists()


def test_lr_takes_a_number_or_auto(tmp_path):
    result = invoke("train", *TINY, "--lr", "fast", "--output", tmp_path / "run")
    assert result.exit_code == 2 and "number or auto" in result.output
    result = invoke("train", *TINY, "--lr", "AUTO", "--dry-run")
    assert result.exit_code == 0 and "  lr: auto  # flag" in result.stdout.splitlines()
