"""Taking a fine-tuned model out of the Lab: weights with metadata, TorchScript, metrics as CSV.

A checkpoint is a plain dict saved with torch.save, holding only tensors, strings and numbers, so
it loads with ``torch.load(..., weights_only=True)``: loading never runs code from the file. The
metadata says how to rebuild the network and how to feed it (input size, normalisation).
"""

from __future__ import annotations

import importlib.util
import io
import json
import re
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, cast

import pandas as pd
import torch

if TYPE_CHECKING:
    from core.models.backbones import GroupedNet

from core.train.engine import RunResult
from core.train.events import as_row
from core.train.inputs import IMAGENET_MEAN, IMAGENET_STD

FORMAT = "fine-tuning-lab"
VERSION = 1
METRIC_COLUMNS = ["epoch", "train_loss", "train_acc", "val_loss", "val_acc", "trainable_params", "elapsed"]


def file_stem(result: RunResult, run_name: str = "", run_id: str = "") -> str:
    """A file name stem that tells runs apart: model, data, what trained, lr, the run's name and id.
    Two runs' downloads once shared one name ("metrics.csv"), so a second download silently became
    "metrics (1).csv" and nobody knew which run it held (issue 10)."""
    cfg = result.config
    groups = "all" if len(cfg.trainable) >= 8 else ("+".join(cfg.trainable) or "none")
    parts = [
        cfg.model,
        cfg.dataset,
        groups,
        f"lr{cfg.lr:g}",
        "" if cfg.pretrained else "scratch",
        f"{cfg.epochs}ep",
        run_name,
        run_id[:8],
    ]
    stem = "-".join(p for p in parts if p)
    return re.sub(r"[^A-Za-z0-9.+_-]+", "_", stem)[:120]


def checkpoint_meta(model: torch.nn.Module, class_names: list[str], image_size: int) -> dict:
    """What a user needs besides the weights: the architecture, the classes and the input format."""
    return {
        "arch": getattr(model, "arch", type(model).__name__),
        "class_names": list(class_names),
        "num_classes": len(class_names),
        "image_size": int(image_size),
        "mean": list(IMAGENET_MEAN),
        "std": list(IMAGENET_STD),
        "input": "RGB, resize short side to image_size and centre-crop, /255, then (x - mean) / std",
    }


def export_state_dict(model: torch.nn.Module, class_names: list[str], image_size: int) -> bytes:
    """torch.save bytes of {'format', 'version', 'meta', 'state_dict'} (tensors on the CPU)."""
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    buf = io.BytesIO()
    torch.save(
        {
            "format": FORMAT,
            "version": VERSION,
            "meta": checkpoint_meta(model, class_names, image_size),
            "state_dict": state,
        },
        buf,
    )
    return buf.getvalue()


def torchvision_state_dict(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The model's weights under torchvision's own key names (`features.0.0.weight`, `classifier.1.bias`
    for MobileNetV2), so `torchvision.models.<arch>(num_classes=N).load_state_dict(...)` loads them.
    The Lab regroups torchvision's modules without copying them: building the torchvision network
    and its groups on the meta device pairs each of our keys with torchvision's by tensor identity."""
    from core.models.backbones import GroupedNet, backbone_spec

    grouped = cast("GroupedNet", model)  # what the Lab trains and exports
    spec = backbone_spec(grouped.arch)
    num_classes = cast(torch.nn.Linear, list(grouped.head.children())[-1]).out_features
    with torch.device("meta"):
        tv = spec.builder(weights=None, num_classes=num_classes)
    tv_keys = {id(t): k for k, t in tv.state_dict(keep_vars=True).items()}
    last = [m for m in tv.modules() if isinstance(m, torch.nn.Linear)][-1]  # torchvision's classifier layer
    regrouped = GroupedNet(spec.split(tv), torch.nn.Sequential(torch.nn.Identity(), last), grouped.arch)
    names = {k: tv_keys[id(t)] for k, t in regrouped.state_dict(keep_vars=True).items()}
    ours = model.state_dict()
    if set(names) != set(ours) or len(set(names.values())) != len(tv_keys):
        raise ValueError(f"The {model.arch} weights do not map one to one onto torchvision's layout.")
    return {names[k]: v.detach().cpu().contiguous() for k, v in ours.items()}


def export_torchvision(model: torch.nn.Module) -> bytes:
    """torch.save bytes of a plain state_dict in torchvision's key layout (see torchvision_state_dict)."""
    buf = io.BytesIO()
    torch.save(torchvision_state_dict(model), buf)
    return buf.getvalue()


def torchvision_load_code(arch: str, class_names: list[str], image_size: int, file_name: str) -> str:
    """The exact code that loads export_torchvision's file (tests/test_lab_truth.py runs it on a
    downloaded file)."""
    return (
        f"import torch\nimport torchvision\n\n"
        f"model = torchvision.models.{arch}(num_classes={len(class_names)})\n"
        f"model.load_state_dict(torch.load({file_name!r}, weights_only=True))\n"
        f"model.eval()\n"
        f"class_names = {list(class_names)!r}\n"
        f"# input: RGB, short side resized to {image_size} and centre-cropped, /255, then normalised with\n"
        f"# mean={list(IMAGENET_MEAN)}, std={list(IMAGENET_STD)}\n"
    )


def load_checkpoint(source: bytes | str | Path) -> tuple[dict, dict]:
    """(state_dict, meta) from export_state_dict's bytes or a file; ValueError for anything else."""
    not_ours = "This file is not a Fine-Tuning Lab checkpoint"
    try:
        fh = io.BytesIO(source) if isinstance(source, (bytes, bytearray)) else open(source, "rb")
    except OSError as exc:
        raise ValueError(f"Could not open the checkpoint file: {exc}.") from exc
    try:
        with fh:
            # weights_only=True: a pickle from elsewhere cannot run code while it is being read.
            payload = torch.load(fh, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises RuntimeError, UnpicklingError, EOFError... for bad files
        raise ValueError(
            f"{not_ours}: it could not be read ({type(exc).__name__}). It may be corrupt, "
            f"truncated, or saved by other code; export it again from the Lab."
        ) from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ValueError(
            f"{not_ours}: it is a PyTorch file, but without the Lab's metadata. Load it "
            f"with torch.load yourself, or export it again from the Lab."
        )
    if payload.get("version") != VERSION:
        raise ValueError(f"{not_ours} of a version this Lab understands (version {payload.get('version')!r}).")
    state, meta = payload.get("state_dict"), payload.get("meta")
    if not isinstance(state, dict) or not isinstance(meta, dict):
        raise ValueError(f"{not_ours}: its weights or metadata are missing.")
    return state, meta


def model_from_checkpoint(source: bytes | str | Path) -> tuple[torch.nn.Module, dict]:
    """Rebuild the network from a checkpoint (no ImageNet download: every weight comes from the file)."""
    from core.models.backbones import build_model

    state, meta = load_checkpoint(source)
    model = build_model(meta["arch"], int(meta["num_classes"]), pretrained=False)
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        raise ValueError(f"The checkpoint's weights do not fit a {meta['arch']} network: {exc}") from exc
    return model.eval(), meta


# ---- TorchScript and ONNX ------------------------------------------------------------------------


def onnx_available() -> bool:
    """torch's ONNX exporter needs the onnx and onnxscript packages (requirements.txt); offline."""
    return all(importlib.util.find_spec(m) is not None for m in ("onnx", "onnxscript"))


def export_onnx(model: torch.nn.Module, size: int) -> bytes:
    """The model as ONNX (opset chosen by torch) for one image of `size` x `size`: loads in onnxruntime
    and most deployment runtimes. TorchScript is deprecated upstream; ONNX is what they read."""
    import copy

    model = copy.deepcopy(model).cpu().eval()
    example = torch.zeros(1, 3, int(size), int(size))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        program = torch.onnx.export(
            model, (example,), dynamo=True, input_names=["image"], output_names=["logits"], verbose=False
        )
    assert program is not None, "torch.onnx.export(dynamo=True) returns its program"
    return program.model_proto.SerializeToString()


def export_torchscript(model: torch.nn.Module, size: int, meta: dict | None = None) -> bytes:
    """A traced TorchScript module (loads with torch.jit.load, no Lab code needed); meta.json inside."""
    model.eval()  # trace the inference graph: dropout off, BatchNorm on running statistics
    example = torch.zeros(1, 3, int(size), int(size), device=next(model.parameters()).device)
    buf = io.BytesIO()
    with warnings.catch_warnings():
        # Recent torch releases mark torch.jit deprecated in favour of torch.export; TorchScript is still the
        # format that C++ (libtorch) and mobile runtimes load, so the warning is noise here.
        warnings.simplefilter("ignore", FutureWarning)
        with torch.no_grad():
            traced = torch.jit.trace(model, example)
        extra = {"meta.json": json.dumps(meta or {})}
        torch.jit.save(traced, buf, _extra_files=extra)
    return buf.getvalue()


# ---- metrics -------------------------------------------------------------------------------------


def metrics_frame(result: RunResult) -> pd.DataFrame:
    """One row per finished epoch; weight change of each group as change_<group> columns."""
    groups: list[str] = []
    for epoch in result.epochs:
        groups += [g for g in epoch.weight_change if g not in groups]
    records = []
    for epoch in result.epochs:
        row = as_row(epoch)
        rec = {c: row.get(c) for c in METRIC_COLUMNS}
        rec.update({f"change_{g}": epoch.weight_change.get(g) for g in groups})
        records.append(rec)
    return pd.DataFrame(records, columns=METRIC_COLUMNS + [f"change_{g}" for g in groups])


def metrics_csv(result: RunResult) -> str:
    return metrics_frame(result).to_csv(index=False)
