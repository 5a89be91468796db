"""The worst-classified images: the k highest losses kept across batches, drawn as a grid."""

import numpy as np

from recipes.serving.mistakes import TopLosses


def test_the_highest_losses_are_kept_across_batches_and_drawn(tmp_path):
    worst = TopLosses(k=3)
    generator = np.random.default_rng(0)
    given = []
    for _ in range(4):
        probabilities = generator.dirichlet(np.ones(3), size=5)
        truth = generator.integers(0, 3, 5)
        images = generator.uniform(0, 255, (5, 8, 8, 3))
        files = [f"/data/{len(given) + index}.png" for index in range(5)]
        worst.offer(images, probabilities, truth, files)
        given.extend(probabilities[np.arange(5), truth])
    losses = -np.log(given)
    expected = sorted(losses)[::-1][:3]
    np.testing.assert_allclose([item[0] for item in worst.kept], expected)
    worst_files = [f"/data/{index}.png" for index in np.argsort(-losses)[:3]]
    assert [entry["file"] for entry in worst.listed(["a", "b", "c"])] == worst_files
    path = worst.draw(tmp_path / "top-losses.png", ["a", "b", "c"], "title")
    assert (tmp_path / "top-losses.png").stat().st_size > 5_000 and path.endswith(".png")
    assert TopLosses().draw(tmp_path / "none.png", ["a"], "t") is None
