"""core.runs.analysis: confusion counts, per-class accuracy, the mistake gallery and photo predictions."""
import io
import math
from dataclasses import replace

import numpy as np
import pytest
import torch
from PIL import Image

from core.data.datasets import prepare
from core.data.imagefiles import DataError
from core.runs import analysis
from core.train.config import TrainConfig
from core.train.engine import run_training

TINY = TrainConfig(dataset="faces", image_size=32, per_class=4, val_per_class=4, epochs=1, trainable=("head",))


@pytest.fixture(scope="module")
def run():
    return run_training(TINY)


def png_bytes(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


# ---- counting --------------------------------------------------------------------------------

def test_confusion_matrix_rows_are_true_columns_are_predicted():
    cm = analysis.confusion_matrix([0, 0, 1, 2, 2, 2], [0, 1, 1, 2, 2, 0], 3)
    assert cm.tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 2]]
    assert cm.sum() == 6


def test_confusion_matrix_counts_repeated_pairs():
    assert analysis.confusion_matrix([1, 1, 1], [0, 0, 0], 2).tolist() == [[0, 0], [3, 0]]


@pytest.mark.parametrize("true, pred", [([0, 1], [0]), ([0, 5], [0, 1]), ([-1], [0])])
def test_confusion_matrix_refuses_bad_labels(true, pred):
    with pytest.raises(ValueError):
        analysis.confusion_matrix(true, pred, 2)


def test_per_class_accuracy():
    rows = analysis.per_class_accuracy([0, 0, 0, 1, 1], [0, 0, 1, 0, 0], ["cat", "dog", "bird"])
    assert rows[0] == ("cat", 2, 3, pytest.approx(2 / 3))
    assert rows[1] == ("dog", 0, 2, 0.0)
    assert rows[2][:3] == ("bird", 0, 0) and math.isnan(rows[2][3])


# ---- the gallery -----------------------------------------------------------------------------

def test_data_for_rebuilds_the_training_split(run):
    data = analysis.data_for(run)
    assert data.val_y.tolist() == run.val_true
    assert data.class_names == run.class_names


def test_data_for_an_uploaded_set_needs_the_data(run):
    uploaded = replace(run, config=replace(run.config, dataset="folder:abc123"))
    with pytest.raises(DataError, match="uploaded dataset"):
        analysis.data_for(uploaded)
    assert analysis.data_for(uploaded, analysis.data_for(run)).val_y.tolist() == run.val_true


def test_data_for_refuses_other_images(run):
    other = prepare("textures", 4, 4, 32, 0)
    with pytest.raises(DataError, match="not the ones"):
        analysis.data_for(run, other)


def test_validation_probabilities_agree_with_the_engine(run):
    probs = analysis.validation_probabilities(run)
    assert probs.shape == (len(run.val_true), len(run.class_names))
    assert torch.allclose(probs.sum(1), torch.ones(len(probs)), atol=1e-5)
    assert probs.argmax(1).tolist() == run.val_pred


def test_misclassified_lists_exactly_the_wrong_ones_most_confident_first(run):
    data = analysis.data_for(run)
    mistakes = analysis.misclassified(run, data)
    wrong = [i for i, (t, p) in enumerate(zip(run.val_true, run.val_pred)) if t != p]
    assert sorted(m.index for m in mistakes) == wrong
    for m in mistakes:
        assert m.true == run.class_names[run.val_true[m.index]]
        assert m.predicted == run.class_names[run.val_pred[m.index]] != m.true
        assert 1 / len(run.class_names) <= m.confidence <= 1
    assert [m.confidence for m in mistakes] == sorted((m.confidence for m in mistakes), reverse=True)
    assert len(analysis.misclassified(run, data, limit=1)) == min(1, len(wrong))
    image = analysis.val_image(data, 0)
    assert image.shape == (32, 32, 3) and image.dtype == np.uint8


def test_the_engines_probabilities_are_used_and_equal_a_recomputation(run):
    kept = analysis.validation_probabilities(replace(run, model=None))  # no model: read from the run
    assert kept is run.val_probs
    recomputed = analysis.validation_probabilities(replace(run, val_probs=None))
    assert torch.allclose(kept, recomputed, atol=1e-5)


def test_misclassified_needs_a_model_or_the_runs_probabilities(run):
    with pytest.raises(ValueError, match="no model"):
        analysis.misclassified(replace(run, model=None, val_probs=None))


# ---- a learner's photo -------------------------------------------------------------------------

def test_predict_image_matches_the_validation_path(run):
    """A validation image fed as a 'photo' must get the same probabilities as in the gallery."""
    data = analysis.data_for(run)
    probs = analysis.validation_probabilities(run, data)
    ranked = analysis.predict_image(run.model, analysis.val_image(data, 0), run.class_names, 32)
    assert [c for c, _ in ranked] == sorted(run.class_names, key=lambda c: -probs[0, run.class_names.index(c)])
    assert ranked[0][1] == pytest.approx(float(probs[0].max()), abs=1e-5)
    assert sum(p for _, p in ranked) == pytest.approx(1.0, abs=1e-5)


def test_predict_image_resizes_any_photo(run):
    photo = np.random.default_rng(0).integers(0, 256, (70, 50, 3), dtype=np.uint8)
    ranked = analysis.predict_image(run.model, photo, run.class_names, 32, greyscale=True)
    assert len(ranked) == 2 and ranked[0][1] >= ranked[1][1]
    grey = analysis.predict_image(run.model, photo[..., 0], run.class_names, 32)
    assert len(grey) == 2


def test_greyscale_conversion_changes_a_colour_photo(run):
    red = np.zeros((40, 40, 3), np.uint8)
    red[..., 0] = 255
    colour = dict(analysis.predict_image(run.model, red, run.class_names, 32))
    grey = dict(analysis.predict_image(run.model, red, run.class_names, 32, greyscale=True))
    assert colour != grey
    assert analysis.is_greyscale(analysis.data_for(run))
    colour_data = replace(analysis.data_for(run), train_x=torch.from_numpy(red).permute(2, 0, 1)[None])
    assert not analysis.is_greyscale(colour_data)


def test_predict_image_refuses_wrong_arrays(run):
    with pytest.raises(DataError):
        analysis.predict_image(run.model, np.zeros((8, 8, 4), np.uint8), run.class_names, 32)
    with pytest.raises(DataError):
        analysis.predict_image(run.model, np.zeros((8, 8, 3), np.float32), run.class_names, 32)
    with pytest.raises(DataError, match="long and thin"):
        analysis.predict_image(run.model, np.zeros((1, 5000, 3), np.uint8), run.class_names, 32)
    with pytest.raises(ValueError, match="outputs"):
        analysis.predict_image(run.model, np.zeros((8, 8, 3), np.uint8), ["a", "b", "c"], 32)


def test_read_image_bytes_decodes_and_refuses():
    arr = np.arange(4 * 6 * 3, dtype=np.uint8).reshape(4, 6, 3)
    assert np.array_equal(analysis.read_image_bytes(png_bytes(arr), "me.png"), arr)
    with pytest.raises(DataError, match="not an image"):
        analysis.read_image_bytes(b"hello, not a picture", "notes.png")
    with pytest.raises(DataError, match="corrupt|truncated"):
        photo = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
        analysis.read_image_bytes(png_bytes(photo)[:2000], "cut.png")
    with pytest.raises(DataError, match="limit"):
        analysis.read_image_bytes(b"x" * 2000, "big.png", max_bytes=1000)
    with pytest.raises(DataError, match="empty"):
        analysis.read_image_bytes(b"", "nothing.png")
    # A hostile name never becomes a path outside the temporary folder.
    with pytest.raises(DataError):
        analysis.read_image_bytes(b"junk", "../../etc/passwd")
