"""core.runs.export: a real tiny run exported and loaded back must compute exactly what it computed."""
import csv
import io
import pickle
import warnings

import pytest
import torch

from core.models.backbones import build_model
from core.runs import export
from core.train.config import TrainConfig
from core.train.engine import run_training
from core.train.inputs import IMAGENET_MEAN

TINY = TrainConfig(dataset="faces", image_size=32, per_class=4, val_per_class=4, epochs=2, trainable=("head",))


@pytest.fixture(scope="module")
def run():
    return run_training(TINY)


@pytest.fixture(scope="module")
def inputs():
    return torch.randn(3, 3, 32, 32, generator=torch.Generator().manual_seed(0))


def logits(model, x):
    model.eval()
    with torch.inference_mode():
        return model(x)


def test_state_dict_round_trip_gives_identical_outputs(run, inputs, tmp_path):
    blob = export.export_state_dict(run.model, run.class_names, 32)
    state, meta = export.load_checkpoint(blob)
    assert meta["arch"] == "mobilenet_v2" and meta["class_names"] == run.class_names
    assert meta["image_size"] == 32 and meta["mean"] == list(IMAGENET_MEAN)

    fresh = build_model(meta["arch"], meta["num_classes"], pretrained=False, seed=123)
    assert not torch.equal(logits(fresh, inputs), logits(run.model, inputs))  # the test can fail
    fresh.load_state_dict(state)
    for name, tensor in run.model.state_dict().items():
        assert torch.equal(fresh.state_dict()[name], tensor), name
    # The run's model is channels_last and a fresh one is not: same weights, but conv kernels may
    # sum in another order, so outputs agree to float rounding rather than bit for bit.
    assert torch.allclose(logits(fresh, inputs), logits(run.model, inputs), rtol=0, atol=1e-6)

    path = tmp_path / "model.pt"
    path.write_bytes(blob)
    rebuilt, _ = export.model_from_checkpoint(path)
    assert torch.allclose(logits(rebuilt, inputs), logits(run.model, inputs), rtol=0, atol=1e-6)


def test_torchscript_gives_the_same_logits(run, inputs):
    blob = export.export_torchscript(run.model, 32, {"class_names": run.class_names})
    extra = {"meta.json": ""}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        scripted = torch.jit.load(io.BytesIO(blob), _extra_files=extra)
    assert b"not a face" in extra["meta.json"]
    with torch.inference_mode():
        assert torch.allclose(scripted(inputs), logits(run.model, inputs), atol=1e-5)
    assert not run.model.training  # exporting left the model in eval mode


def test_metrics_csv_has_one_row_per_epoch(run):
    rows = list(csv.DictReader(io.StringIO(export.metrics_csv(run))))
    assert len(rows) == len(run.epochs) == 2
    for col in export.METRIC_COLUMNS + ["change_head", "change_stem"]:
        assert col in rows[0], col
    assert [int(r["epoch"]) for r in rows] == [1, 2]
    assert float(rows[1]["val_acc"]) == pytest.approx(run.epochs[1].val_acc)
    assert float(rows[0]["change_stem"]) == 0.0 < float(rows[0]["change_head"])  # only the head trained


def test_corrupt_bytes_are_refused_clearly(run):
    blob = export.export_state_dict(run.model, run.class_names, 32)
    for bad in (b"", b"definitely not a checkpoint", blob[: len(blob) // 2]):
        with pytest.raises(ValueError, match="not a Fine-Tuning Lab checkpoint"):
            export.load_checkpoint(bad)


def test_foreign_files_are_refused(run, tmp_path):
    foreign = io.BytesIO()
    torch.save(run.model.state_dict(), foreign)  # a bare state_dict: real PyTorch, but no metadata
    with pytest.raises(ValueError, match="without the Lab's metadata"):
        export.load_checkpoint(foreign.getvalue())

    class Evil:
        def __reduce__(self):
            return (print, ("this must never run",))

    with pytest.raises(ValueError, match="not a Fine-Tuning Lab checkpoint"):
        export.load_checkpoint(pickle.dumps(Evil(), protocol=2))  # weights_only refuses arbitrary objects
    with pytest.raises(ValueError, match="Could not open"):
        export.load_checkpoint(tmp_path / "missing.pt")


def test_onnx_flag_matches_the_environment():
    try:
        import onnx  # noqa: F401
        import onnxscript  # noqa: F401
        present = True
    except ImportError:
        present = False
    assert export.onnx_available() is present
