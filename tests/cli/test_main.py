import subprocess
import sys
import textwrap

import click
from click.testing import CliRunner

from cli.main import COMMANDS, cli
from zoo.errors import UnknownNameError, UsageError


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
    import zoo.names

    def broken(pattern=None):
        raise RuntimeError("the first line\nand a long dump after it")

    monkeypatch.setattr(zoo.names, "matching", broken)
    result = CliRunner().invoke(cli, ["list"])
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        "error: RuntimeError: the first line (run with --debug for the traceback)"
    ]


def test_debug_after_the_command_shows_the_traceback_too():
    for args in (["info", "resnt50", "--debug"], ["--debug", "info", "resnt50"]):
        result = CliRunner().invoke(cli, args)
        assert result.exit_code != 0
        assert isinstance(result.exception, UnknownNameError), args
    quiet = CliRunner().invoke(cli, ["info", "resnt50"])
    assert quiet.exit_code == 2 and quiet.stderr.startswith("error: Unknown architecture")


def test_debug_reaches_the_commands_of_nested_groups(tmp_path):
    result = CliRunner().invoke(cli, ["search", "report", str(tmp_path / "none"), "--debug"])
    assert result.exit_code != 0 and isinstance(result.exception, UsageError)
    assert "--debug" in CliRunner().invoke(cli, ["runs", "prune", "--help"]).stdout


def test_debug_is_a_flag_not_a_value_after_double_dash():
    result = CliRunner().invoke(cli, ["list", "--", "--debug"])
    assert result.exit_code == 0
    assert "No architecture matches '--debug'" in result.stdout


def test_every_option_has_a_help_line():
    def missing(command, path):
        for param in command.params:
            if isinstance(param, click.Option) and not param.hidden and not param.help:
                yield f"{path} {param.opts[0]}"
        for name, sub_command in getattr(command, "commands", {}).items():
            yield from missing(sub_command, f"{path} {name}")

    context = click.Context(cli, info_name="zoo")
    found = {line for name in COMMANDS for line in missing(cli.get_command(context, name), name)}
    assert found == set()


def test_decoder_warnings_stay_off_stderr_while_a_command_runs(tmp_path, capfd):
    from tests.recipes.data.test_noise import extraneous_bytes_jpeg

    data = tmp_path / "photos"
    for name in ("a", "b"):
        (data / name).mkdir(parents=True)
        for index in range(4):
            (data / name / f"{index}.jpg").write_bytes(extraneous_bytes_jpeg())
    args = ["train", "--arch", "lenet5", "--data", str(data), "--epochs", "1", "--batch-size", "4"]
    args += ["--cache", "none", "--augment", "none", "--output", str(tmp_path / "run")]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "Corrupt JPEG data" not in capfd.readouterr().err
    # --debug shows them: the trigger is real.
    args[-1] = str(tmp_path / "run-debug")
    result = CliRunner().invoke(cli, [*args, "--debug"])
    assert result.exit_code == 0, result.output
    assert "Corrupt JPEG data: 2 extraneous bytes" in capfd.readouterr().err


def test_every_command_is_one_of_the_zoo_s_command_classes():
    import click

    from cli.commands import ZooCommand, ZooGroup
    from cli.main import COMMANDS, cli

    context = click.Context(cli)
    for name in COMMANDS:
        command = cli.get_command(context, name)
        commands = [command, *getattr(command, "commands", {}).values()]
        for each in commands:  # so each imports TensorFlow after its arguments, or says why not
            assert isinstance(each, ZooCommand | ZooGroup), (name, each.name)
