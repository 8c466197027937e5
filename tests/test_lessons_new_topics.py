"""The lessons issue 26 asked for (LR range test, choosing a backbone, validation vs test, unbalanced
classes) state facts that are checked here against their sources: torchvision's weights enums, the
Lab's own controls and thresholds, and a rerun of the numbers the text quotes."""
import inspect
import re

import numpy as np
import pytest

from core.content.lessons import load_lessons
from core.models.backbones import BACKBONES


@pytest.fixture(scope="module")
def L():
    return load_lessons()


def _table(body: str) -> dict[str, list[str]]:
    rows = [line.strip().strip("|").split("|") for line in body.splitlines() if line.strip().startswith("|")]
    return {cells[0].strip(): [c.strip() for c in cells[1:]] for cells in rows[2:]}


def test_the_backbone_table_is_what_the_weights_enums_say(L):
    table = _table(L.concept("choosing-backbone").body)
    assert set(table) == {spec.label for spec in BACKBONES.values()}  # every backbone the Lab offers
    for spec in BACKBONES.values():
        meta = spec.weights.meta
        params, ops, top1, size = table[spec.label]
        assert params == f"{meta['num_params'] / 1e6:.1f} M"
        assert ops == f"{meta['_ops']:.2f} billion"
        assert top1 == f"{meta['_metrics']['ImageNet-1K']['acc@1']:.1f}%"
        assert size == f"{meta['_file_size']:.0f} MB"


def test_the_ratios_the_backbone_lesson_quotes(L):
    body = L.concept("choosing-backbone").body
    ops = {name: spec.weights.meta["_ops"] for name, spec in BACKBONES.items()}
    assert "six times" in body and round(ops["resnet18"] / ops["mobilenet_v2"]) == 6
    assert "about twelve times 64 px" in body and round((224 / 64) ** 2) == 12


def test_picking_the_best_of_ten_validation_scores_is_about_three_points_optimistic(L):
    """The validation-vs-test lesson's numbers, over several simulation seeds (not one lucky draw)."""
    body = L.concept("validation-vs-test").body
    words = " ".join(body.split())
    assert "about two points" in words and "measures about 83%" in words
    assert round(100 * np.sqrt(0.8 * 0.2 / 300)) == 2  # one validation score's standard deviation
    for seed in range(5):
        rng = np.random.default_rng(seed)
        best = (rng.binomial(300, 0.8, size=(2000, 10)) / 300).max(axis=1).mean()
        fresh = (rng.binomial(300, 0.8, size=2000) / 300).mean()
        assert 0.825 <= best <= 0.84 and abs(fresh - 0.80) < 0.005, (seed, best, fresh)


def test_the_lab_features_the_lessons_point_to_exist(L):
    from core.data import datasets
    from ui.lab import setup

    assert "Find a learning rate (LR range test)" in " ".join(L.concept("lr-finder").body.split())
    assert "Find a learning rate (LR range test)" in inspect.getsource(setup)  # the button's label
    assert "has three times the images of the smallest" in " ".join(L.concept("class-imbalance").body.split())
    assert inspect.signature(datasets.imbalance_notes).parameters["ratio"].default == 3.0
    d = datasets.prepare("faces", per_class=6, val_per_class=4, size=32, seed=0)
    assert len(d.test_y) == len(d.val_y)  # "as many per class as validation"


def test_the_imbalance_example_adds_up(L):
    body = " ".join(L.concept("class-imbalance").body.split())
    assert re.search(r"scores 96% on 900 good and 40 defective", body) and round(100 * 900 / 940) == 96
