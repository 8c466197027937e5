"""Evidence for "early layers detect edges" (issue 26): the lesson figure shows MobileNetV2's real
first-layer kernels, and the edge test that sorts them finds far more edge detectors in the pretrained
layer than in the same layer as initialised before training."""
import numpy as np
import pytest
import torch
from torchvision.models import MobileNet_V2_Weights, mobilenet_v2

from core.content.lessons import load_lessons
from core.lab import lesson_figures as lf
from core.lab import stem_filters as sf
from ui import lesson_diagrams as ld


def test_the_kernels_are_the_pretrained_stem():
    f = sf.stem_filters()
    real = mobilenet_v2(weights=MobileNet_V2_Weights.IMAGENET1K_V1).features[0][0].weight.detach().numpy()
    assert f.weights.shape == (32, 3, 3, 3) and np.array_equal(f.weights, real)
    torch.manual_seed(0)
    untrained = mobilenet_v2(weights=None).features[0][0].weight.detach().numpy()
    assert not np.allclose(f.weights, untrained)


def test_the_sorting_rules_on_kernels_whose_kind_is_known():
    step = np.array([[-1, 0, 1]] * 3, dtype=np.float32)
    edge = np.stack([step] * 3)  # the same light-dark step in every channel
    flat = np.ones((3, 3, 3), dtype=np.float32)  # sums a patch: brightness
    red_minus_green = np.stack([np.ones((3, 3)), -np.ones((3, 3)), np.zeros((3, 3))]).astype(np.float32)
    tiny = 0.001 * edge
    assert sf.kinds_of(np.stack([edge, flat, red_minus_green, tiny])) == [sf.EDGE, sf.BRIGHTNESS, sf.COLOUR, sf.OFF]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_pretrained_layer_has_more_edge_kernels_than_99_in_100_random_starts(seed):
    found = sf.stem_filters().count(sf.EDGE)
    chance = sf.random_edge_counts(500, seed)
    assert found >= 6 and np.mean(chance) < 3
    assert sum(c >= found for c in chance) / len(chance) < 0.01  # as many by chance: under 1 start in 100


def test_the_figure_draws_every_kernel_with_its_kind():
    f = sf.stem_filters()
    fig = ld.stem_filters_figure(f)
    labels = [a.text for a in fig.layout.annotations]
    order = ld.stem_filters_order(f)
    assert sorted(order) == list(range(32)) and labels == [f"{ld.SHORT[f.kinds[i]]} #{i}" for i in order]
    assert [f.kinds[i] for i in order][:f.count(sf.EDGE)] == [sf.EDGE] * f.count(sf.EDGE)  # edges first
    canvas = np.array(fig.data[0].z, dtype=np.uint8)
    floor = 0.25 * float(np.abs(f.weights).max())
    side = 3 * ld.TILE + ld.GAP
    for slot, i in enumerate(order):  # each tile's pixels are its kernel's, scaled with mid-grey at zero
        top, left = (slot // ld.COLS) * (side + 14), (slot % ld.COLS) * side
        tile = canvas[top:top + 3 * ld.TILE, left:left + 3 * ld.TILE]
        assert np.array_equal(tile, ld._kernel_tile(f.weights[i], floor))
        if f.kinds[i] == sf.OFF:
            assert np.abs(tile.astype(int) - 128).max() <= 10  # shown nearly grey, not as amplified noise


def test_the_lesson_places_the_figure_and_its_text_gives_the_counts():
    L = load_lessons()
    fig = next(x for x in L.figures if x.kind == "stem-filters")
    assert fig.concept == "which-layers"
    text = lf.describe("stem-filters")
    f = sf.stem_filters()
    assert f"{f.count(sf.EDGE)} edge, {f.count(sf.COLOUR)} colour" in text and "Random kernels" in text
    assert f"{f.count(sf.EDGE)} or more in 0." in text  # under 1% of random starts
