import json

import pytest
from click.testing import CliRunner

from cli.main import cli


def test_bench_train_reports_both_sides_and_their_ratio():
    result = CliRunner().invoke(
        cli,
        [
            "bench",
            "train",
            "--arch",
            "lenet5",
            "--image-size",
            "32",
            "--classes",
            "2",
            "--images-per-class",
            "8",
            "--batch-size",
            "8",
            "--epochs",
            "2",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["keras"]["precision"] == "fp32"
    assert report["keras"]["images_per_second"] > 0
    assert report["zoo"]["images_per_second"] > 0
    expected = report["zoo"]["images_per_second"] / report["keras"]["images_per_second"]
    assert abs(report["speedup"] - expected) < 0.01
    assert report["images"] == 16


def test_bench_model_reports_cost_speed_and_mfu_of_both_sides():
    from cli.bench_cmd import model_table

    result = CliRunner().invoke(
        cli,
        ["bench", "model", "--arch", "lenet5", "--image-size", "32", "--batch-size", "8",
         "--steps", "2", "--strategy", "mirrored", "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["arch"], report["strategy"]) == ("lenet5", "mirrored")
    assert report["params"] > 0
    assert report["forward_flops"] == 2 * report["macs"] > 0
    for side in ("zoo", "keras"):
        row = report[side]
        for key in ("model", "precision", "jit", "params", "macs", "forward_flops"):
            assert key in row
        for section in ("train", "infer"):
            assert row[section]["images_per_second"] > 0
            assert row[section]["achieved_flops_per_second"] > 0
            assert 0 < row[section]["mfu"] < 2
        assert 0 < row["latency"]["p50_ms"] <= row["latency"]["p95_ms"]
    assert report["keras"]["precision"] == "fp32"
    for key in ("train_images_per_second", "infer_images_per_second", "latency_p50"):
        assert report["ratios"][key] > 0
    zoo_train = report["zoo"]["train"]["images_per_second"]
    keras_train = report["keras"]["train"]["images_per_second"]
    assert report["ratios"]["train_images_per_second"] == pytest.approx(
        zoo_train / keras_train, abs=0.01
    )
    peak = report["peak"][report["zoo"]["precision"]]
    for key in ("flops_per_second", "size", "dtype", "repeats", "best_of", "method"):
        assert key in peak
    assert peak["flops_per_second"] > 0
    assert report["memory"]["peak_rss_bytes"] > 0

    table = model_table(report)
    assert "| zoo" in table and "| keras" in table
    macs = report["macs"]  # LeNet-5 at 32 px: about 0.33 million, never "0.000 GMACs"
    assert f"{macs / 1e3:.3g} kMACs" in table or f"{macs / 1e6:.3g} MMACs" in table
    assert "zoo / keras: training images/s" in table
    # One footnote line per precision measured (bf16 and fp32 on a CPU with AVX512-BF16).
    footnotes = {
        line.split(":")[0].strip(): line for line in table.splitlines()[-len(report["peak"]) :]
    }
    for precision, measured in report["peak"].items():
        assert f"{measured['size']}x{measured['size']}" in footnotes[precision]


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--arch", "lenet5", "--mode", "foo"], "--mode"),
        (["--arch", "lenet5", "--steps", "0"], "--steps"),
        (["--arch", "resnt18"], "resnet18"),
        (["--arch", "inception_v3", "--image-size", "32"], "at least 75x75"),
        ([], "--arch"),
    ],
)
def test_bench_model_bad_flags_are_one_line_exit_2(flags, message):
    result = CliRunner().invoke(cli, ["bench", "model", *flags])
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert "Traceback" not in result.output
    assert len(result.stderr.strip().splitlines()) == 1


def test_bench_model_help_ends_with_examples():
    result = CliRunner().invoke(cli, ["bench", "model", "--help"])
    assert result.exit_code == 0, result.output
    assert "Examples:" in result.stdout
    assert result.stdout.rstrip().splitlines()[-1].strip().startswith("zoo bench model")
