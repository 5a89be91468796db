"""`recipes.run.canvas`: whole-number ticks and titles that fit the figure."""

from recipes.run.canvas import integer_ticks, new_figure, png_bytes, wrapped_title


def test_a_single_epoch_gets_whole_number_ticks_only():
    figure = new_figure(7, 4)
    axes = figure.add_subplot()
    axes.plot([1], [0.5], marker="o")
    integer_ticks(axes)
    png_bytes(figure)  # lays the figure out, as writing it does
    ticks = [tick for tick in axes.get_xticks() if axes.get_xlim()[0] <= tick <= axes.get_xlim()[1]]
    assert ticks and all(float(tick).is_integer() for tick in ticks)


def test_a_long_title_is_wrapped_inside_the_figure():
    figure = new_figure(8, 4.8)
    figure.add_subplot().plot([0, 1], [0, 1])
    title = "resnet18: learning-rate range test on folder " + "/very-long-folder-name" * 8
    wrapped_title(figure, title)
    png_bytes(figure)
    text = figure.get_suptitle()
    assert len(text.splitlines()) > 1
    box = figure._suptitle.get_window_extent(figure.canvas.get_renderer())
    assert 0 <= box.x0 and box.x1 <= figure.bbox.width  # not cut at either edge
    assert box.y1 <= figure.bbox.height
