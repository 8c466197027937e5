"""core.runs.error_analysis: highest-loss validation images, and a planted wrong label flagged."""
import numpy as np
import pytest
import torch
from torch import nn

from core.data.datasets import PreparedData
from core.runs import error_analysis as ea
from core.train.config import TrainConfig
from core.train.engine import RunResult
from core.train.inputs import normalise

NAMES = ["dark", "bright"]


def _images(levels: list[int], seed: int) -> torch.Tensor:
    """Flat grey 8x8 images around each level, with a little noise."""
    rng = np.random.default_rng(seed)
    x = np.clip(np.array(levels)[:, None, None, None] + rng.normal(0, 10, (len(levels), 3, 8, 8)), 0, 255)
    return torch.from_numpy(x.astype(np.uint8))


def _trained_model(x: torch.Tensor, y: torch.Tensor) -> nn.Module:
    """A real (tiny) classifier trained on the training images: brightness tells the classes apart."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(3, 2))
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    inputs = normalise(x, torch.device("cpu"))
    for _ in range(200):
        opt.zero_grad()
        nn.functional.cross_entropy(model(inputs), y).backward()
        opt.step()
    return model


@pytest.fixture(scope="module")
def planted():
    """Ten dark and ten bright validation images; validation image 13 is bright but labelled dark."""
    train_y = torch.tensor([0] * 10 + [1] * 10)
    train_x = _images([40] * 10 + [210] * 10, seed=1)
    val_y = torch.tensor([0] * 10 + [1] * 10)
    val_x = _images([40] * 10 + [210] * 10, seed=2)
    val_y[13] = 0  # the planted mistake in the labels
    data = PreparedData("tiny:planted", NAMES, train_x, train_y, val_x, val_y)
    model = _trained_model(train_x, train_y)
    result = RunResult("finished", "", TrainConfig(dataset="faces"), NAMES, [], [], model=model)
    return result, data


def test_the_planted_wrong_label_comes_first_and_is_flagged(planted):
    result, data = planted
    rows = ea.hardest(result, data, limit=5)
    top = rows[0]
    assert top.val_index == 13 and (top.true, top.predicted) == ("dark", "bright")
    assert top.confidence >= ea.CONFIDENT and top.likely_mislabelled
    assert top.loss > 2.0  # -log of a small p(true)
    assert [r.val_index for r in rows if r.likely_mislabelled] == [13]  # only the planted one
    assert all(a.loss >= b.loss for a, b in zip(rows, rows[1:]))


def test_losses_are_the_cross_entropy_of_each_label():
    probs = torch.tensor([[0.9, 0.1], [0.2, 0.8], [0.5, 0.5]])
    labels = [0, 0, 1]
    expected = torch.nn.functional.nll_loss(probs.log(), torch.tensor(labels), reduction="none")
    assert ea.image_losses(probs, labels) == pytest.approx(expected.numpy())
    assert np.isfinite(ea.image_losses(torch.tensor([[1.0, 0.0]]), [1])).all()  # p(true) = 0 stays finite


def test_an_unsure_mistake_is_hard_but_not_flagged():
    probs = torch.tensor([[0.4, 0.6], [0.05, 0.95], [0.99, 0.01]])
    rows = ea.highest_loss(probs, [0, 0, 0], ["a", "b"], limit=3)
    assert [r.val_index for r in rows] == [1, 0, 2]
    assert [r.likely_mislabelled for r in rows] == [True, False, False]


def test_advice_names_what_to_do():
    rows = ea.highest_loss(torch.tensor([[0.05, 0.95], [0.3, 0.7], [0.2, 0.8]]), [0, 0, 0], ["cat", "dog"])
    text = " ".join(ea.advice(rows))
    assert "1 image marked" in text and "fix it" in text
    assert "true cat read as dog (3 images)" in text and "collect more" in text
    unsure = ea.advice(ea.highest_loss(torch.tensor([[0.4, 0.6]]), [0], ["cat", "dog"]))
    assert "unsure" in " ".join(unsure)
    right = ea.advice(ea.highest_loss(torch.tensor([[0.6, 0.4]]), [0], ["cat", "dog"]))
    assert "Nothing to fix" in " ".join(right)


def test_mismatched_sizes_are_refused():
    with pytest.raises(ValueError):
        ea.image_losses(torch.zeros(3, 2), [0, 1])
