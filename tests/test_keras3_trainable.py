"""What Keras 3 really does when `trainable` changes after `compile()`, run here, and the lessons
that state it.

Why: the lessons once gave tf.keras 2's rule ("a change takes effect at the next compile()") as if
it held everywhere. In the installed Keras 3 a layer frozen after `compile()` stops training at
once; unfreezing is refused by `fit()` only when an earlier `fit()` has already built the
optimizer for the old set of weights. This test runs each case (torch backend, the only one
installed; a fresh process because Keras reads KERAS_BACKEND at import) so the lesson text is
checked against behaviour, not memory.
"""
import dataclasses
import importlib.util
import json
import os
import subprocess
import sys

import pytest

from core.content.lessons import load_lessons

PROBE = r'''
import json, sys
import keras
import numpy as np

x = np.random.default_rng(0).random((32, 4), dtype=np.float32)
y = np.random.default_rng(1).random((32, 1), dtype=np.float32)

def model(first_frozen):
    keras.utils.set_random_seed(0)
    m = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, name="a"), keras.layers.Dense(1)])
    m.get_layer("a").trainable = not first_frozen
    m.compile(optimizer=keras.optimizers.Adam(1e-2), loss="mse")
    return m

def moved_after_fit(m):
    """Did layer a's kernel change in a fit() call? ('error: ...' when fit() raised)."""
    before = np.array(m.get_layer("a").kernel)
    try:
        m.fit(x, y, epochs=2, verbose=0)
    except Exception as exc:
        return f"error: {type(exc).__name__}: {exc}"[:300]
    return bool(not np.allclose(before, np.array(m.get_layer("a").kernel)))

out = {"version": keras.__version__, "backend": keras.backend.backend(),
       "vit_in_applications": [n for n in dir(keras.applications) if "vit" in n.lower() or "transformer" in n.lower()]}
m = model(first_frozen=False); m.get_layer("a").trainable = False
out["frozen_after_compile"] = moved_after_fit(m)
m = model(first_frozen=False); m.fit(x, y, epochs=1, verbose=0); m.get_layer("a").trainable = False
out["frozen_after_fit"] = moved_after_fit(m)
m = model(first_frozen=True); m.get_layer("a").trainable = True
out["unfrozen_before_any_fit"] = moved_after_fit(m)
m = model(first_frozen=True); m.fit(x, y, epochs=1, verbose=0); m.get_layer("a").trainable = True
out["unfrozen_after_fit"] = moved_after_fit(m)
m.compile(optimizer=keras.optimizers.Adam(1e-2), loss="mse")
out["unfrozen_after_fit_then_recompiled"] = moved_after_fit(m)
json.dump(out, sys.stdout)
'''


@pytest.fixture(scope="module")
def keras3():
    if importlib.util.find_spec("keras") is None:
        pytest.skip("keras is not installed (requirements-dev.txt)")
    proc = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "KERAS_BACKEND": "torch"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_probe_runs_keras_3_on_torch(keras3):
    assert keras3["version"].startswith("3.") and keras3["backend"] == "torch"


def test_a_layer_frozen_after_compile_stops_training_at_once(keras3):
    assert keras3["frozen_after_compile"] is False
    assert keras3["frozen_after_fit"] is False


def test_unfreezing_raises_only_once_an_earlier_fit_built_the_optimizer(keras3):
    assert keras3["unfrozen_before_any_fit"] is True          # no fit yet: it simply trains
    assert keras3["unfrozen_after_fit"].startswith("error: ValueError: Unknown variable")
    assert keras3["unfrozen_after_fit_then_recompiled"] is True


# Items that state the Keras rule: each names Keras 3's behaviour apart from tf.keras 2's rule.
KERAS_RULE_ITEMS = {
    "concepts": ["freezing-layers"], "flashcards": ["card-keras-recompile"],
    "quizzes": ["q-after-freeze-compile", "q-keras-trainable"],
    "pitfalls": ["pitfall-keras-no-recompile"],
}
STALE = ("takes effect at the next compile", "take effect at the next", "only applies `trainable`",
         "keeps training the old set of weights", "changes take effect at the next")


def _text(item) -> str:
    return json.dumps(dataclasses.asdict(item))


def _item(L, kind, item_id):
    pool = {"concepts": L.concepts, "flashcards": L.cards, "quizzes": L.questions,
            "pitfalls": L.pitfalls}[kind]
    return next(i for i in pool if i.id == item_id)


@pytest.mark.parametrize("kind,item_id", [(k, i) for k, ids in KERAS_RULE_ITEMS.items() for i in ids])
def test_lessons_state_keras_3_apart_from_tf_keras_2(kind, item_id):
    text = " ".join(_text(_item(load_lessons(), kind, item_id)).split())
    assert "Keras 3" in text and "tf.keras 2" in text, item_id
    assert not any(s in text for s in STALE), item_id
    if kind in ("flashcards", "pitfalls", "concepts"):
        assert "fit()" in text and ("earlier `fit()`" in text or "first `fit()`" in text), item_id


def test_explain_and_example_no_longer_give_the_tf_keras_2_rule_as_general():
    L = load_lessons()
    prompt = next(p for p in L.prompts if p.id == "explain-keras-steps")
    assert "only applies `trainable`" not in prompt.model_answer
    assert "first `fit()`" in prompt.model_answer
    example = open(os.path.join(os.path.dirname(__file__), "..", "examples", "finetune_keras.py")).read()
    assert "takes effect at compile()" not in example


def test_vision_transformers_are_not_said_to_be_in_keras_applications(keras3):
    assert keras3["vit_in_applications"] == []
    text = " ".join(load_lessons().concept("pretrained-models").body.split())
    assert "not in `keras.applications`" in text
