"""core.runs.gradcam: Captum's Grad-CAM on real runs, and the page's claim that only a trained backbone
moves the maps."""

import numpy as np
import pytest
import torch

from core.models import backbones as models
from core.runs import gradcam
from tests.insight_runs import HEAD_ONLY, head_only, last_stage  # noqa: F401  (fixtures)


def test_a_frozen_backbone_gives_identical_maps(head_only):
    result, data = head_only
    out = gradcam.compare(result, data.val_x[:6])
    assert out["before"].shape == (6, 32, 32)
    assert out["after"].max() > 0  # a real map, not an empty one
    np.testing.assert_allclose(out["before"], out["after"], rtol=1e-4, atol=1e-6 * out["after"].max())


def test_training_the_last_stage_moves_the_maps(last_stage):
    result, data = last_stage
    out = gradcam.compare(result, data.val_x[:6])
    diff = np.abs(out["before"] - out["after"]).mean()
    assert diff > 0.05 * max(np.abs(out["before"]).mean(), np.abs(out["after"]).mean())


def test_before_is_the_start_backbone_with_the_runs_head(last_stage):
    result, _ = last_stage
    before = gradcam.before_model(result)
    start = models.build_model(result.config.model, 2, True, seed=result.config.seed)
    assert torch.equal(before.groups["stage6"][0].conv[0][0].weight, start.groups["stage6"][0].conv[0][0].weight)
    assert not torch.equal(before.groups["stage6"][0].conv[0][0].weight,
                           result.model.groups["stage6"][0].conv[0][0].weight)
    assert torch.equal(before.head[1].weight, result.model.head[1].weight)
    assert before.head is not result.model.head  # a copy: Captum's hooks never touch the run's model


def test_default_layer_is_the_deepest_map_of_at_least_4x4():
    model = models.build_model("mobilenet_v2", 2, False, seed=0)
    assert gradcam.layer_sides(model, 64)["stage6"] == 2
    assert gradcam.default_layer(model, 64) == "stage4"  # 4x4 at 64 px
    assert gradcam.default_layer(model, 32) == "stage2"
    assert gradcam.default_layer(model, 224) == "stage6"  # 7x7: the usual last layer


def test_maps_are_non_negative_and_an_unknown_layer_is_refused(head_only):
    result, data = head_only
    maps = gradcam.grad_cam(result.model, data.val_x[:2], [0, 1], "stage3")
    assert maps.shape == (2, 32, 32) and (maps >= 0).all()
    with pytest.raises(ValueError, match="stage9"):
        gradcam.grad_cam(result.model, data.val_x[:2], [0, 1], "stage9")


def test_overlay_colours_strong_areas_brighter():
    image = np.full((8, 8, 3), 100, np.uint8)
    cam = np.zeros((8, 8))
    cam[:4] = 1.0
    out = gradcam.overlay(image, cam)
    assert out.shape == (8, 8, 3) and out.dtype == np.uint8
    assert out[:4].mean() > out[4:].mean() + 50
    assert (gradcam.colorize(np.zeros((2, 2))) == gradcam.colorize(np.array([[0.0, 1.0]]))[0, 0]).all()  # empty: darkest
