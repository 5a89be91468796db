"""Run directories as the recipes leave them, made in milliseconds for the tests of `zoo runs`."""

from recipes.config import resolve_config
from recipes.run.layout import RunLayout


def make_run(root, name, *, epochs_done=0, finished=False, **settings):
    """A run directory without training: small files stand in for the models.

    Args:
        root: The folder to make it in.
        name: The directory's name.
        epochs_done: Epochs recorded in `history.csv` and `state.json` (with a
            `last.keras`); validation accuracy 0.5, 0.6, ...
        finished: Whether it has `metrics.json` and `model.keras`.
        **settings: Settings of its configuration (a `lenet5` run of 3 epochs).

    Returns:
        The run, unlocked.
    """
    config = resolve_config({"arch": "lenet5", "epochs": 3, "output": str(root / name), **settings})
    run = RunLayout.create(config, "x")
    if epochs_done:
        rows = [{"epoch": e + 1, "val_accuracy": 0.5 + e / 10} for e in range(epochs_done)]
        run.write_history(rows)
        run.write_json(RunLayout.STATE, {"epochs_done": epochs_done, "phase": "train"})
        run.file(RunLayout.LAST).write_bytes(b"x" * 1000)
    if finished:
        run.write_json(RunLayout.METRICS, {"val_accuracy": 0.6, "test_accuracy": 0.55})
        run.file(RunLayout.MODEL).write_bytes(b"m" * 100)
    run.unlock()
    return run
