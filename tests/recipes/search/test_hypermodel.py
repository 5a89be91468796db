"""recipes.search.hypermodel: what every trial of a study shares."""

from recipes.config import resolve_config
from recipes.search import hypermodel
from recipes.search.hypermodel import TrialPlan
from recipes.search.space import Param, default_space

CONFIG = resolve_config({"arch": "lenet5", "batch_size": 16})


def plan(space):
    return TrialPlan("train", space, {"arch": "lenet5"}, "val_accuracy", epochs=1)


def test_largest_batch_size_of_the_space():
    assert plan(default_space("train", ["lenet5"])).largest_batch_size(CONFIG) == 64
    assert (
        plan({"batch_size": Param("batch_size", "int", 8, 256)}).largest_batch_size(CONFIG) == 256
    )
    fixed = Param("batch_size", "fixed", values=(48,))
    assert plan({"batch_size": fixed}).largest_batch_size(CONFIG) == 48
    assert plan({}).largest_batch_size(CONFIG) == 16  # not searched: the study's own


def test_the_data_is_found_once_with_the_largest_batch(monkeypatch):
    calls = []

    def find_data(data, **options):
        calls.append(options)
        return "the source"

    monkeypatch.setattr(hypermodel, "find_data", find_data)
    trials = plan(default_space("train", ["lenet5"]))
    for batch_size in (32, 64, 32):
        config = resolve_config({"arch": "lenet5", "batch_size": batch_size})
        assert trials.source_for(config, (32, 32), 1) == "the source"
    assert len(calls) == 1 and calls[0]["batch_size"] == 64
