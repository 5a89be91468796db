import subprocess
import sys
import textwrap

from click.testing import CliRunner

from cli.main import COMMANDS, cli


def test_help_of_every_command_does_not_import_tensorflow():
    script = textwrap.dedent(
        """
        import sys
        from click.testing import CliRunner
        from cli.main import COMMANDS, cli
        for name in [None, *COMMANDS]:
            args = ["--help"] if name is None else [name, "--help"]
            result = CliRunner().invoke(cli, args)
            assert result.exit_code == 0, (name, result.output)
        heavy = sorted(m for m in ("tensorflow", "keras") if m in sys.modules)
        print(",".join(heavy) or "light")
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "light"


def test_usage_errors_are_answered_before_tensorflow_loads():
    script = textwrap.dedent(
        """
        import sys
        from click.testing import CliRunner
        from cli.main import cli
        bad = [
            ["trian"],
            ["train", "--epoch", "2"],
            ["train", "--arch", "lenet5", "--cache", "memroy"],
            ["train", "--arch", "lenet5", "--lr", "fast"],
            ["finetune", "--base", "resnet18", "--classes", "1"],
            ["lr-find", "--bogus"],
        ]
        for args in bad:
            result = CliRunner().invoke(cli, args)
            assert result.exit_code == 2, (args, result.output)
            assert result.stderr.startswith("error: "), (args, result.output)
        print("tensorflow" in sys.modules)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_every_command_is_listed_in_help():
    result = CliRunner().invoke(cli, ["--help"])
    for name in COMMANDS:
        assert name in result.stdout


def test_bad_flag_is_one_line_with_exit_2():
    result = CliRunner().invoke(cli, ["list", "--bogus"])
    assert result.exit_code == 2
    assert (
        result.stderr.strip().splitlines()
        == ["error: No such option: --bogus (see 'zoo list --help')"]
        or "--bogus" in result.stderr
    )


def test_debug_shows_the_traceback():
    result = CliRunner().invoke(cli, ["--debug", "info", "resnt50"])
    assert result.exit_code != 0
    assert result.exception is not None


def test_unexpected_error_is_its_first_line_with_exit_1(monkeypatch):
    import zoo

    def broken(pattern=None):
        raise RuntimeError("the first line\nand a long dump after it")

    monkeypatch.setattr(zoo, "list_models", broken)
    result = CliRunner().invoke(cli, ["list"])
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        "error: RuntimeError: the first line (run with --debug for the traceback)"
    ]
