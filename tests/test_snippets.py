"""Every code snippet in lessons/ runs, offline on a CPU, and each "wrong" snippet shows its bug.

Why: learners copy these snippets. A snippet with an undefined name, a download, or a bug that does
not happen as the text says teaches the wrong thing. So every code field of every lesson item (all
files, whoever edits them) is executed: PyTorch snippets in one child process, Keras snippets (those
that import keras) in another with KERAS_BACKEND=torch set before keras loads. Snippets not listed
in BUGS must run without error; a listed "wrong" snippet must show its bug, and its correct twin
must not. The two end-to-end scripts in examples/ are run on a tiny generated image folder.
"""
from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from core.content.lessons import KIND_FILES, load_lessons

ROOT = Path(__file__).resolve().parents[1]
RUNNER = ROOT / "tests" / "snippet_runner.py"
# "A few seconds each" on a quiet machine; measured 0.2 to 6 s with 8 engineers sharing 2 cores,
# so the limit only catches a snippet that trains for real (a full 224 px backward pass, many epochs).
MAX_SECONDS = 30


@dataclass(frozen=True)
class Bug:
    """What a wrong snippet must show: an exception (type name + message fragment) or a fact about
    its namespace after it ran (`holds`, a Python expression that is True for the bug)."""
    raises: str | None = None
    match: str = ""
    holds: str | None = None
    twin: str | None = None  # key of the correct snippet, which must not show it


def _pitfall(pid: str, **bug) -> tuple[str, Bug]:
    return f"pitfalls:{pid}:wrong_code", Bug(twin=f"pitfalls:{pid}:correct_code", **bug)


BUGS: dict[str, Bug] = dict([
    # Everything frozen, head included: autograd has nothing to differentiate.
    _pitfall("pitfall-freeze-everything", raises="RuntimeError", match="does not require grad"),
    # The first optimizer only holds the head; the block unfrozen later never moves.
    _pitfall("pitfall-optimizer-mismatch", holds="torch.equal(before, net.features[18][0].weight)"),
    # The ImageNet head is kept: the model still has 1000 outputs for a 5-class task.
    _pitfall("pitfall-keep-imagenet-head", holds="net(x).shape[1] == 1000"),
    # 0..1 pixels without mean/std: never negative, unlike the inputs the first layer learned on.
    _pitfall("pitfall-wrong-normalization", holds="float(x.min()) >= 0"),
    # A one-channel image meets three-channel normalisation.
    _pitfall("pitfall-greyscale-channels", raises="RuntimeError", match="broadcast shape"),
    # model.train() after a one-off bn.eval(): the frozen BatchNorm statistics drift.
    _pitfall("pitfall-bn-train-mode", holds="not torch.equal(before, bn.running_mean)"),
    # eval() does not freeze anything: the backbone still moves.
    _pitfall("pitfall-eval-is-not-freezing", holds="not torch.equal(before, net.features[0][0].weight)"),
    # One learning rate of 1e-2 for every pretrained weight: early filters move by about 4% in
    # 3 steps (measured), where the head-only twin leaves them exactly as they were.
    _pitfall("pitfall-high-lr-all-layers", holds="drift > 0.02"),
    # Keras 3: trainable changed after compile(); the optimizer refuses weights it was not built for.
    _pitfall("pitfall-keras-no-recompile", raises="ValueError", match="Unknown variable"),
    # Keras 3: inner layers set trainable while base.trainable is False: the base says frozen, the
    # model trains 22 tensors anyway (tf.keras 2 would train only the head's 2).
    _pitfall("pitfall-keras-unfreeze-order", holds="not base.trainable and len(model.trainable_weights) > 2"),
    # Keras 3: training=False in the graph is overridden by fit(); BatchNorm statistics move.
    _pitfall("pitfall-keras-bn-training-arg", holds="not np.allclose(before, after)"),
])


# What some correct snippets say in their comments, checked (an expression True after the snippet ran).
CLAIMS: dict[str, str] = {
    "concepts:pretrained-models:keras": "base.output_shape == (None, 3, 3, 1280)",
    "concepts:freezing-layers:keras": "len(model.trainable_weights) == 2",
    "concepts:which-layers:keras": "len(base.layers) == 155 and not any("
                                   "l.trainable for l in base.layers if isinstance(l, keras.layers.BatchNormalization))",
    "concepts:replace-head:pytorch": "tuple(model(torch.randn(1, 3, 64, 64)).shape) == (1, 5)",
    "concepts:batchnorm-frozen:pytorch": "not model.features[1].conv[2].training and model.features[18][1].training",
    "concepts:batchnorm-frozen:keras": "not keras.ops.convert_to_numpy(bn.moving_mean).any()",
    "concepts:trainable-vs-training:keras": "len(dense.trainable_weights) == 0",
    "concepts:trainable-vs-training:pytorch": "not model.features[0][1].training",
    "concepts:gradual-unfreezing:keras": "len(model.trainable_weights) > 2 and base.trainable",
    "pitfalls:pitfall-greyscale-channels:correct_code": "tuple(x.shape) == (3, 224, 224)",
    # one input channel with the three pretrained kernels summed: the same layer for a grey image
    "concepts:input-preprocessing:pytorch": "float(gap) < 1e-4 and tuple(one.weight.shape) == (32, 1, 3, 3)",
    "concepts:pretrained-models:pytorch": "weights.meta['categories'][:3] == ['tench', 'goldfish', 'great white shark']",
    "practice:practice-sum-requires-grad:code": "sum(w.requires_grad for w in net.parameters()) == 0",
    # memorises labels that are pure noise: what the missing validation set would have revealed
    "pitfalls:pitfall-no-validation:wrong_code": "(head(x).argmax(1) == y).float().mean().item() == 1.0",
}


def _code_fields(item) -> list[str]:
    names = [f.name for f in dataclasses.fields(item)]
    return [n for n in names if n in ("code", "pytorch", "keras") or n.endswith("_code")]


def all_snippets() -> dict[str, str]:
    """Every code field of every lesson item, keyed "<file>:<id>:<field>"."""
    lessons = load_lessons()
    out = {}
    for kind, stem in KIND_FILES.items():
        for item in getattr(lessons, kind):
            for name in _code_fields(item):
                code = getattr(item, name)
                if code and code.strip():
                    out[f"{stem}:{item.id}:{name}"] = code
    return out


def is_keras(code: str) -> bool:
    return re.search(r"^\s*(import keras|from keras)\b", code, re.M) is not None


def _check_for(key: str) -> str | None:
    if key in CLAIMS:
        return CLAIMS[key]
    if key in BUGS:
        return BUGS[key].holds
    return next((b.holds for b in BUGS.values() if b.twin == key), None)


def _run(snippets: dict[str, str], tmp: Path, keras: bool) -> dict[str, dict]:
    if not snippets:
        return {}
    src, dst = tmp / f"in-{keras}.json", tmp / f"out-{keras}.json"
    src.write_text(json.dumps([{"key": k, "code": c, "check": _check_for(k)} for k, c in snippets.items()]))
    env = {**os.environ, "KERAS_BACKEND": "torch"} if keras else dict(os.environ)
    args = [sys.executable, str(RUNNER), str(src), str(dst)] + (["keras"] if keras else [])
    proc = subprocess.run(args, env=env, capture_output=True, text=True, timeout=60 * 15)
    results = {r["key"]: r for r in json.loads(dst.read_text())} if dst.exists() else {}
    for key in snippets:
        results.setdefault(key, {"error": {"type": "RunnerCrashed", "message": proc.stderr[-2000:]},
                                 "check": None, "seconds": 0})
    return results


SNIPPETS = all_snippets()


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("snippets")
    torch_part = {k: c for k, c in SNIPPETS.items() if not is_keras(c)}
    keras_part = {k: c for k, c in SNIPPETS.items() if is_keras(c)}
    return {**_run(torch_part, tmp, keras=False), **_run(keras_part, tmp, keras=True)}


def test_bug_table_names_real_snippets():
    for key, bug in BUGS.items():
        assert key in SNIPPETS, f"BUGS names {key}, which is not a lesson snippet"
        assert bug.twin is None or bug.twin in SNIPPETS, bug.twin
        assert (bug.raises is None) != (bug.holds is None), key
    for key in CLAIMS:
        assert key in SNIPPETS and key not in BUGS and not any(b.twin == key and b.holds for b in BUGS.values()), key


def test_runner_reports_missing_names_and_blocks_the_network(tmp_path):
    """The harness itself can fail: an undefined name and a download attempt are both reported."""
    out = _run({"undefined": "model.eval()",
                "download": "import socket\nsocket.create_connection(('pypi.org', 443), timeout=5)",
                "fine": "import torch\nx = torch.zeros(2)"}, tmp_path, keras=False)
    assert out["undefined"]["error"]["type"] == "NameError"
    assert out["download"]["error"]["type"] == "OSError" and "offline" in out["download"]["error"]["message"]
    assert out["fine"]["error"] is None


def test_no_tensorflow_imports():
    """Keras snippets are Keras 3 code (`import keras`), which runs on any backend."""
    for key, code in SNIPPETS.items():
        assert not re.search(r"^\s*(import tensorflow|from tensorflow)", code, re.M), key
        assert "tf.keras" not in re.sub(r"#.*", "", code), key   # comments may compare versions


@pytest.mark.parametrize("key", sorted(SNIPPETS))
def test_snippet(results, key):
    r = results[key]
    bug = BUGS.get(key)
    assert r["seconds"] < MAX_SECONDS, f"{key} took {r['seconds']} s: keep lesson snippets tiny"
    if bug and bug.raises:
        assert r["error"], f"{key} should raise {bug.raises} ({bug.match!r}) but ran without error"
        assert r["error"]["type"] == bug.raises and bug.match in r["error"]["message"], (key, r["error"])
        return
    assert r["error"] is None, f"{key} raised {r['error']['type']}: {r['error']['message']}"
    if key in CLAIMS:
        assert r["check"] is True, f"{key} does not do what its comments say ({CLAIMS[key]}): {r['check']}"
    elif bug:
        assert r["check"] is True, f"{key} should show its bug ({bug.holds}) but got {r['check']}"
    elif _check_for(key):
        assert r["check"] is False, f"{key} is the correct twin but shows the bug ({_check_for(key)}): {r['check']}"


# --------------------------------------------------------------------------- examples/ scripts


def _image_folder(root: Path) -> Path:
    """Two classes of 5 tiny images each; one greyscale file, as real folders often have."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    for c, name in enumerate(("cats", "dogs")):
        (root / name).mkdir(parents=True)
        for i in range(5):
            pixels = rng.integers(0, 120, (40, 40, 3)) + 120 * c
            img = Image.fromarray(pixels.astype("uint8"))
            (img.convert("L") if i == 0 else img).save(root / name / f"{i}.png")
    return root


def _run_example(script: str, args: list[str], env_extra: dict | None = None):
    env = {**os.environ, **(env_extra or {})}
    return subprocess.run([sys.executable, str(ROOT / "examples" / script), *args], env=env,
                          capture_output=True, text=True, timeout=600)


def test_pytorch_example_trains_and_saves(tmp_path):
    data, out = _image_folder(tmp_path / "images"), tmp_path / "model.pt"
    proc = _run_example("finetune_pytorch.py", ["--data", str(data), "--out", str(out), "--epochs-head", "1",
                                                "--epochs-finetune", "1", "--image-size", "64", "--batch-size", "4"])
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "head epoch 1" in proc.stdout and "fine-tune epoch 1" in proc.stdout
    import torch
    saved = torch.load(out, weights_only=False)
    assert saved["classes"] == ["cats", "dogs"]
    assert saved["state_dict"]["classifier.1.weight"].shape == (2, 1280)


def test_keras_example_trains_and_saves(tmp_path):
    data, out = _image_folder(tmp_path / "images"), tmp_path / "model.keras"
    proc = _run_example("finetune_keras.py", ["--data", str(data), "--out", str(out), "--weights", "none",
                                              "--epochs-head", "1", "--epochs-finetune", "1",
                                              "--image-size", "64", "--batch-size", "4"],
                        {"KERAS_BACKEND": "torch"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "head epoch 1" in proc.stdout and "fine-tune epoch 1" in proc.stdout
    assert out.is_file() and out.stat().st_size > 1_000_000   # MobileNetV2 weights are in it


@pytest.mark.parametrize("script", ["finetune_pytorch.py", "finetune_keras.py"])
def test_examples_explain_a_missing_folder(tmp_path, script):
    proc = _run_example(script, ["--data", str(tmp_path / "nowhere")], {"KERAS_BACKEND": "torch"})
    assert proc.returncode != 0
    assert "No folder at" in proc.stderr and "Traceback" not in proc.stderr
