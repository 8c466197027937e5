"""Every number a quiz question states about its curves is computed here from those curves.

Why: a diagnosis question once misread its own exhibit (it named epoch 4 as the lowest validation
loss, where the curve's minimum is at epoch 17). Each claim below is the sentence fragment the
question's text must contain, built from the series it describes, so an edited exhibit or a
misread number fails here.
"""
import pytest

from core.content.lessons import load_lessons


def _pct(x: float) -> str:
    return f"{round(x * 100)}%"


def _epoch_of(series, value) -> int:
    return list(series).index(value) + 1


def overfit_claims(c):
    vl, ta, va = c.val_loss, c.train_acc, c.val_acc
    best = min(vl)
    return [
        f"reaches 100% at epoch {_epoch_of(ta, 1.0)}",
        f"never gets past {_pct(max(va))}",
        f"ends {(ta[-1] - va[-1]) * 100:.1f} points below training",
        f"after epoch {_epoch_of(vl, min(vl[:10]))} ({min(vl[:10]):.3f})",
        f"{vl[9]:.2f} by epoch 10",
        f"lowest at epoch {_epoch_of(vl, best)} ({best:.3f})",
        f"{vl[-1]:.3f} at the end",
    ]


def healthy_claims(c):
    return [f"{c.train_loss[0]:.1f} to {c.train_loss[-1]:.1f} in training",
            f"from {_pct(c.val_acc[0])} to {_pct(c.val_acc[-1])}",
            f"gap of about {round((c.train_acc[-1] - c.val_acc[-1]) * 100)} points"]


def lr_high_claims(c):
    assert max(c.train_acc) < 0.11          # "never leaves chance" for 10 classes
    return [f"starts at {round(c.train_loss[0])}",
            f"jumps between {int(min(c.train_loss))} and {round(max(c.train_loss))}"]


def lr_low_claims(c):
    return [f"({c.val_loss[0]:.3f} to {c.val_loss[-1]:.3f})"]


CLAIMS = {"q-diagnose-overfit": overfit_claims, "q-diagnose-healthy": healthy_claims,
          "q-diagnose-lr-high": lr_high_claims, "q-diagnose-lr-low": lr_low_claims}


def _text(q) -> str:
    parts = [q.prompt, q.explanation] + [o.text + " " + o.why for o in q.options]
    return " ".join(" ".join(parts).split())


@pytest.mark.parametrize("qid", sorted(CLAIMS))
def test_statements_about_the_exhibit_match_the_exhibit(qid):
    q = next(q for q in load_lessons().questions if q.id == qid)
    text = _text(q)
    for claim in CLAIMS[qid](q.curves):
        assert claim in text, f"{qid} should say {claim!r} (computed from its curves)"


def test_every_question_with_curves_has_its_claims_checked():
    assert {q.id for q in load_lessons().questions if q.curves} == set(CLAIMS)
