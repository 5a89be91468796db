import json

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
