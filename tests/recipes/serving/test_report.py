"""The evaluation's confusion-matrix picture: titled, readable counts, a whole-number scale."""

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from recipes.serving.report import _confusion_figure, confusion_figure, model_label


def _texts(figure):
    axes = figure.axes[0]
    return [(text.get_text(), text.get_color(), text.get_fontsize()) for text in axes.texts]


def _report(matrix, names, data="folder /data/flowers"):
    matrix = np.asarray(matrix)
    return {
        "confusion_matrix": matrix.tolist(),
        "class_names": names,
        "accuracy": float(np.trace(matrix) / matrix.sum()),
        "images": int(matrix.sum()),
        "data": data,
    }


def test_the_title_names_the_run_the_data_and_the_split(tmp_path):
    run = tmp_path / "resnet18-flowers-1"
    run.mkdir()
    trained = SimpleNamespace(source=run, run_dir=run, name="resnet18-flowers-1")
    report = _report([[3, 1], [0, 4]], ["cat", "dog"])
    title = _confusion_figure(report, trained, "val", "flip").axes[0].get_title()
    assert title == (
        "Confusion matrix: resnet18-flowers-1\n"
        "val split of folder /data/flowers; accuracy 87.5% of 8 images, TTA flip"
    )
    deep = _report(
        [[3, 1], [0, 4]], ["cat", "dog"], "folder /tmp/pytest-of-x/pytest-7/popen-gw1/runs/flat"
    )
    title = _confusion_figure(deep, trained, "val", "none").axes[0].get_title()
    assert title.splitlines()[1] == "val split of folder .../runs/flat; accuracy 87.5% of 8 images"
    checkpoint = SimpleNamespace(source=run / "best.keras", run_dir=run, name="x")
    assert model_label(checkpoint) == "resnet18-flowers-1/best.keras"
    bare = SimpleNamespace(source=Path("/models/mine.keras"), run_dir=None, name="mine")
    assert model_label(bare) == "mine.keras"


def test_three_classes_show_counts_shares_and_contrasting_colours():
    figure = confusion_figure([[40, 0, 2], [3, 30, 7], [0, 1, 44]], ["a", "b", "c"], "t")
    texts = _texts(figure)
    counts = [text for text, _, _ in texts if not text.endswith("%")]
    assert counts == ["40", "0", "2", "3", "30", "7", "0", "1", "44"]
    colour = {text: c for text, c, _ in texts}
    assert colour["44"] == "white" and colour["40"] == "white"  # the darkest cells
    assert colour["2"] == "black" and colour["0"] != "black"  # light cells; zeros greyed
    shares = [text for text, _, _ in texts if text.endswith("%")]
    assert shares[:2] == ["95%", "5%"]  # 40 and 2 of the 42 true a's
    ticks = figure.axes[1].get_yticks()
    assert len(ticks) > 2 and all(float(tick).is_integer() for tick in ticks)


@pytest.mark.parametrize("classes", [10, 30])
def test_counts_stay_whole_in_a_font_that_fits_them(classes):
    rng = np.random.default_rng(0)
    matrix = rng.integers(0, 120, (classes, classes))
    names = [f"class_{index}" for index in range(classes)]
    texts = _texts(confusion_figure(matrix, names, "t"))
    counts = [text for text, _, _ in texts if not text.endswith("%")]
    assert counts == [str(value) for value in matrix.ravel()]
    assert 5 <= max(size for _, _, size in texts) <= 13
    wide = _texts(confusion_figure(matrix * 1000, names, "t"))  # six-digit counts
    assert max(size for _, _, size in wide) < max(size for _, _, size in texts)
    ticks = confusion_figure(matrix, names, "t").axes[1].get_yticks()
    assert all(float(tick).is_integer() for tick in ticks)


def test_too_many_classes_for_readable_numbers_leave_the_cells_blank():
    matrix = np.eye(40, dtype=int) * 5
    figure = confusion_figure(matrix, [str(index) for index in range(40)], "t")
    assert _texts(figure) == []
    assert figure.axes[0].get_xlabel() == "predicted class (the counts are in the CSV file)"
