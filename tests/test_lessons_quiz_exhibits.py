"""The quiz's exhibit fields (`output`, `curves`) load as documented in lessons/SCHEMA.md, and bad
curves are rejected with a message naming the question and the field."""
import copy

import pytest

from core.content.lessons import CURVE_SERIES, LessonError, load_lessons
from tests.test_lessons_schema import MINIMAL, write_folder

CURVES = {"source": "python -m core.cli --preset lr-too-high", "train_loss": [2.3, 1.9, 1.5],
          "val_acc": [0.1, 0.4, 0.55]}


def _with_question_fields(tmp_path, **fields):
    data = copy.deepcopy(MINIMAL)
    data["quizzes"]["questions"][0].update(fields)
    load_lessons.cache_clear()
    return load_lessons(write_folder(tmp_path / "lessons", data))


def test_output_and_curves_load(tmp_path):
    q = _with_question_fields(tmp_path, output="group 0: lr=0.001", curves=CURVES).questions[0]
    assert q.output == "group 0: lr=0.001"
    assert q.curves.source == CURVES["source"] and q.curves.epochs == 3
    assert [name for name, _ in q.curves.series] == ["train_loss", "val_acc"]  # CURVE_SERIES order
    assert q.curves.get("val_acc") == (0.1, 0.4, 0.55) and q.curves.get("val_loss") is None


@pytest.mark.parametrize("curves,message", [
    ({"train_loss": [1.0, 0.5]}, "source"),
    ({"source": "x"}, "no series"),
    ({"source": "x", "train_loss": [1.0, 0.5], "val_loss": [1.0]}, "val_loss"),
    ({"source": "x", "train_loss": [1.0, 0.5], "val_loss": [1.0, 0.8, 0.7]}, "one value per epoch"),
    ({"source": "x", "train_loss": [1.0, "low"]}, "list of numbers"),
    ({"source": "x", "test_acc": [0.1, 0.2]}, "unknown field"),
])
def test_bad_curves_are_rejected(tmp_path, curves, message):
    with pytest.raises(LessonError, match=message) as err:
        _with_question_fields(tmp_path, curves=curves)
    assert "q-one" in str(err.value) and "curves" in str(err.value)


def test_real_curves_are_complete_runs():
    for q in load_lessons().questions:
        if q.curves:
            assert {name for name, _ in q.curves.series} == set(CURVE_SERIES), q.id
            for name, values in q.curves.series:
                if name.endswith("acc"):
                    assert all(0 <= v <= 1 for v in values), (q.id, name)
