"""The lesson YAML in lessons/ loads and is sane, and the validator rejects broken content loudly."""
import copy
import dataclasses
from collections import Counter
from pathlib import Path

import pytest
import yaml

from core.content import lessons as lessons_mod
from core.content.lessons import LAB_PRESET_IDS, LEVELS, LessonError, load_lessons

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def L():
    return load_lessons()


# --------------------------------------------------------------------------- the real content


def test_real_lessons_load(L):
    assert L.concepts and L.folder.endswith("lessons")


def test_counts_are_sane(L):
    c = L.counts()
    assert c["concepts"] >= 14
    assert c["cards"] >= 25
    assert c["questions"] >= 25
    assert c["prompts"] >= 6
    assert c["steps"] == 7
    assert c["myths"] >= 4
    assert c["sections"] >= 6
    assert c["pitfalls"] >= 7
    assert c["problems"] >= 5
    assert c["takeaways"] >= 5
    assert c["use_cases"] >= 2
    assert c["coverage"] >= 60


def test_each_question_has_exactly_one_correct_option(L):
    for q in L.questions:
        assert sum(o.correct for o in q.options) == 1, q.id
        assert len(q.options) >= 3, q.id
        assert all(o.why.strip() for o in q.options), q.id
        assert q.correct_option.correct


def test_ids_unique_per_file():
    for stem, kinds in lessons_mod.FILE_KINDS.items():
        data = yaml.safe_load((ROOT / "lessons" / f"{stem}.yaml").read_text())
        ids = [item["id"] for k in kinds for item in (data.get(k) or [])]
        dupes = [i for i, n in Counter(ids).items() if n > 1]
        assert not dupes, f"{stem}.yaml duplicate ids {dupes}"


def test_levels_are_valid_and_questions_span_all_levels(L):
    for kind in ("concepts", "cards", "questions", "prompts", "steps", "problems"):
        for item in getattr(L, kind):
            assert item.level in LEVELS, (kind, item.id)
    for kind in ("cards", "questions"):
        assert {i.level for i in getattr(L, kind)} == set(LEVELS), kind
    counts = Counter(q.level for q in L.questions)
    assert all(counts[level] >= 5 for level in LEVELS), counts


def test_concepts_in_teaching_order(L):
    order = L.concept_ids
    expected = ["pretrained-models", "why-not-scratch", "what-is-fine-tuning", "freezing-layers",
                "which-layers", "replace-head", "small-learning-rate", "two-stage", "data-requirements",
                "overfitting", "batchnorm-frozen", "discriminative-lr", "gradual-unfreezing",
                "when-not-to-fine-tune", "common-pitfalls"]
    assert all(c in order for c in expected)
    positions = [order.index(c) for c in expected]
    assert positions == sorted(positions)


def test_every_concept_has_practice_material(L):
    for c in L.concepts:
        attached = L.for_concept(c.id)
        assert attached["cards"] or attached["questions"], f"concept {c.id} has no card and no question"


def test_freezing_shown_in_both_frameworks(L):
    freezing = L.concept("freezing-layers")
    assert "requires_grad" in freezing.pytorch
    assert "trainable" in freezing.keras and "compile" in freezing.keras


def test_required_diagrams(L):
    flow = L.concept("what-is-fine-tuning").diagram
    layers = L.concept("which-layers").diagram
    assert flow and "digraph" in flow and "freeze" in flow.lower()
    assert layers and "edges" in layers.lower() and "textures" in layers.lower()


def test_lab_presets_valid_and_wired(L):
    used = [i.lab_preset for kind in ("concepts", "pitfalls") for i in getattr(L, kind) if i.lab_preset]
    assert set(used) <= set(LAB_PRESET_IDS)
    assert L.by_id("pitfalls", "pitfall-high-lr-all-layers").lab_preset == "lr-too-high"
    assert L.by_id("pitfalls", "pitfall-bn-train-mode").lab_preset == "bn-train-mode"
    assert L.concept("overfitting").lab_preset == "overfit-tiny"
    assert L.concept("pretrained-models").lab_preset == "pretrained-vs-scratch"
    assert set(used) == set(LAB_PRESET_IDS), "every lab preset should be linked from some lesson"


def test_required_pitfalls_present(L):
    ids = {p.id for p in L.pitfalls}
    for pid in ("pitfall-high-lr-all-layers", "pitfall-noisy-data", "pitfall-freeze-everything",
                "pitfall-optimizer-mismatch", "pitfall-keep-imagenet-head", "pitfall-wrong-normalization",
                "pitfall-bn-train-mode"):
        assert pid in ids
    for p in L.pitfalls:
        assert p.wrong_code != p.correct_code, p.id


def test_steps_have_predict_prompts(L):
    for s in L.steps:
        assert s.predict is not None, s.id
        assert 0 <= s.predict.answer < len(s.predict.options)


def test_practice_problems_have_solutions(L):
    for p in L.problems:
        assert p.steps and p.common_mistakes and p.quick_check, p.id
        if p.answer_index is not None:
            assert p.options and 0 <= p.answer_index < len(p.options)


def test_helpers(L):
    assert L.concept("replace-head").title
    assert L.by_id("card", "card-pytorch-freeze") is L.by_id("cards", "card-pytorch-freeze")
    assert L.resolve("deep_dive:myth-whole-model").belief
    assert L.resolve("takeaways:usecase-flowers").title
    assert L.kind_of(L.myths[0]) == "myths"
    assert L.get("questions", "no-such-id") is None
    with pytest.raises(KeyError):
        L.concept("no-such-concept")
    with pytest.raises(KeyError):
        L.resolve("quizzes:no-such-id")
    assert all(q.concept == "freezing-layers" for q in L.for_concept("freezing-layers")["questions"])
    assert L.at_level("questions", "advanced")


def test_load_is_cached(L):
    assert load_lessons() is L
    assert load_lessons(ROOT / "lessons") is L


def test_core_lessons_does_not_import_streamlit():
    src = (ROOT / "core" / "content" / "lessons.py").read_text()
    assert "import streamlit" not in src and "from streamlit" not in src


# --------------------------------------------------------------------------- the validator

MINIMAL = {
    "concepts": {"concepts": [
        {"id": "basics", "title": "Basics", "level": "beginner", "summary": "S.", "body": "B.",
         "lab_preset": "head-only", "diagram": "digraph g { a -> b; }"},
    ]},
    "flashcards": {"cards": [
        {"id": "card-one", "concept": "basics", "level": "beginner", "front": "F?", "back": "B."},
    ]},
    "quizzes": {"questions": [
        {"id": "q-one", "concept": "basics", "level": "beginner", "prompt": "P?", "explanation": "E.",
         "options": [{"text": "yes", "correct": True, "why": "w1"},
                     {"text": "no", "correct": False, "why": "w2"}]},
    ]},
    "explain": {"prompts": [
        {"id": "explain-one", "concept": "basics", "level": "beginner", "prompt": "P", "hint": "H",
         "model_answer": "M", "checklist": [{"id": "c1", "label": "L", "any_of": ["pretrained", "pre-trained"]}],
         "probes": [{"id": f"probe-{n}", "item": "c1", "misconception": "M", "question": "Q?",
                     "options": [{"text": "a", "correct": True, "why": "w"}, {"text": "b", "correct": False, "why": "w"},
                                 {"text": "c", "correct": False, "why": "w"}]} for n in (1, 2)]},
    ]},
    "deep_dive": {
        "steps": [{"id": "step-one", "title": "T", "level": "beginner", "body": "B", "result": "R", "insight": "I",
                   "predict": {"question": "Q?", "options": ["a", "b"], "answer": 1, "reveal": "R"}}],
        "myths": [{"id": "myth-one", "belief": "B", "predict_answer": False, "reality": "R", "why_it_matters": "W"}],
        "sections": [{"id": "sec-one", "title": "T", "body": "B"}],
    },
    "pitfalls": {"pitfalls": [
        {"id": "pit-one", "title": "T", "concept": "basics", "wrong_code": "x = 1", "correct_code": "x = 2",
         "root_cause": "R", "lab_preset": "lr-too-high"},
    ]},
    "practice": {"problems": [
        {"id": "prob-one", "title": "T", "level": "beginner", "concept": "basics", "question": "Q",
         "steps": [{"title": "S1", "body": "B1"}], "answer": "A", "quick_check": "QC",
         "common_mistakes": ["M1"], "options": ["a", "b"], "answer_index": 0},
    ]},
    "takeaways": {"takeaways": [{"id": "t-one", "text": "T"}],
                  "use_cases": [{"id": "uc-one", "title": "T", "scratch": "S", "fine_tuned": "F", "body": "B"}]},
    "coverage": {"items": [{"source": "000_x.txt", "label": "000 card", "covered_by": ["flashcards:card-one"]}]},
}


def write_folder(path: Path, data: dict) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    for stem, content in data.items():
        (path / f"{stem}.yaml").write_text(yaml.safe_dump(content, sort_keys=False))
    return path


def test_minimal_folder_is_valid(tmp_path):
    L = load_lessons(write_folder(tmp_path / "ok", MINIMAL))
    assert L.counts()["cards"] == 1 and L.coverage[0].covered_by == ("flashcards:card-one",)
    assert L.steps[0].predict.answer_text == "b"


def _set(path, value):
    def mutate(d):
        *parents, last = path
        target = d
        for p in parents:
            target = target[p]
        if value is _DELETE:
            del target[last]
        else:
            target[last] = value
    return mutate


_DELETE = object()


def _dup_card(d):
    d["flashcards"]["cards"].append(copy.deepcopy(d["flashcards"]["cards"][0]))


def _dup_across_deep_dive(d):
    d["deep_dive"]["myths"][0]["id"] = "step-one"


def _rename(path, old, new):
    def mutate(d):
        target = d
        for p in path:
            target = target[p]
        target[new] = target.pop(old)
    return mutate


def _dup_checklist_item(d):
    checklist = d["explain"]["prompts"][0]["checklist"]
    checklist.append({**checklist[0], "label": "Another label"})


def _two_correct(d):
    d["quizzes"]["questions"][0]["options"][1]["correct"] = True


def _none_correct(d):
    d["quizzes"]["questions"][0]["options"][0]["correct"] = False


CASES = [
    # (name, mutation, substrings the message must contain)
    ("missing field", _set(("flashcards", "cards", 0, "back"), _DELETE),
     ["flashcards.yaml", "card-one", "'back'", "missing"]),
    ("wrong type", _set(("flashcards", "cards", 0, "front"), 42),
     ["flashcards.yaml", "card-one", "'front'", "expected text"]),
    ("bad level", _set(("concepts", "concepts", 0, "level"), "expert"),
     ["concepts.yaml", "basics", "'level'", "expert", "beginner"]),
    ("duplicate id", _dup_card, ["flashcards.yaml", "duplicate id", "card-one"]),
    ("duplicate id across deep-dive lists", _dup_across_deep_dive, ["deep_dive.yaml", "duplicate id", "step-one"]),
    ("bad id format", _set(("quizzes", "questions", 0, "id"), "Q One"), ["quizzes.yaml", "'id'", "bad id"]),
    ("quiz with two correct", _two_correct, ["quizzes.yaml", "q-one", "'options'", "exactly one correct", "found 2"]),
    ("quiz with no correct", _none_correct, ["quizzes.yaml", "q-one", "exactly one correct", "found 0"]),
    ("quiz with one option", _set(("quizzes", "questions", 0, "options"), [{"text": "a", "correct": True, "why": "w"}]),
     ["quizzes.yaml", "q-one", "'options'", "at least 2"]),
    ("option without why", _set(("quizzes", "questions", 0, "options", 0, "why"), _DELETE),
     ["quizzes.yaml", "q-one", "options[0]", "'why'", "missing"]),
    ("correct not a bool", _set(("quizzes", "questions", 0, "options", 0, "correct"), "yes please"),
     ["quizzes.yaml", "q-one", "'correct'", "true or false"]),
    ("unknown concept (card)", _set(("flashcards", "cards", 0, "concept"), "nope"),
     ["flashcards.yaml", "card-one", "'concept'", "unknown concept 'nope'"]),
    ("unknown concept (pitfall)", _set(("pitfalls", "pitfalls", 0, "concept"), "nope"),
     ["pitfalls.yaml", "pit-one", "unknown concept"]),
    ("practice without steps", _set(("practice", "problems", 0, "steps"), []),
     ["practice.yaml", "prob-one", "'steps'", "step-by-step"]),
    ("practice steps missing", _set(("practice", "problems", 0, "steps"), _DELETE),
     ["practice.yaml", "prob-one", "'steps'"]),
    ("practice answer_index out of range", _set(("practice", "problems", 0, "answer_index"), 5),
     ["practice.yaml", "prob-one", "'answer_index'", "out of range"]),
    ("practice without common mistakes", _set(("practice", "problems", 0, "common_mistakes"), []),
     ["practice.yaml", "prob-one", "'common_mistakes'"]),
    ("explain checklist empty", _set(("explain", "prompts", 0, "checklist"), []),
     ["explain.yaml", "explain-one", "'checklist'", "empty"]),
    ("explain any_of empty", _set(("explain", "prompts", 0, "checklist", 0, "any_of"), []),
     ["explain.yaml", "explain-one", "checklist[0]", "'any_of'"]),
    ("predict answer out of range", _set(("deep_dive", "steps", 0, "predict", "answer"), 2),
     ["deep_dive.yaml", "step-one", "predict", "'answer'", "out of range"]),
    ("predict answer not an index", _set(("deep_dive", "steps", 0, "predict", "answer"), True),
     ["deep_dive.yaml", "step-one", "'answer'", "index"]),
    ("myth predict_answer not bool", _set(("deep_dive", "myths", 0, "predict_answer"), "maybe"),
     ["deep_dive.yaml", "myth-one", "'predict_answer'", "true or false"]),
    ("unknown lab preset (concept)", _set(("concepts", "concepts", 0, "lab_preset"), "warp-drive"),
     ["concepts.yaml", "basics", "'lab_preset'", "warp-drive", "lr-too-high"]),
    ("unknown lab preset (pitfall)", _set(("pitfalls", "pitfalls", 0, "lab_preset"), "warp-drive"),
     ["pitfalls.yaml", "pit-one", "unknown lab preset"]),
    ("diagram not DOT", _set(("concepts", "concepts", 0, "diagram"), "a --> b"),
     ["concepts.yaml", "basics", "'diagram'", "Graphviz"]),
    ("unknown field typo", _set(("flashcards", "cards", 0, "bakc"), "typo"),
     ["flashcards.yaml", "card-one", "'bakc'", "unknown field"]),
    ("top-level key missing", _set(("flashcards",), {"kards": []}), ["flashcards.yaml", "kards"]),
    ("top-level not a list", _set(("quizzes", "questions"), {"a": 1}), ["quizzes.yaml", "'questions'", "list"]),
    ("use case missing field", _set(("takeaways", "use_cases", 0, "fine_tuned"), _DELETE),
     ["takeaways.yaml", "uc-one", "'fine_tuned'", "missing"]),
    ("coverage ref to missing item", _set(("coverage", "items", 0, "covered_by"), ["flashcards:no-such-card"]),
     ["coverage.yaml", "'covered_by'", "flashcards:no-such-card", "no item"]),
    ("coverage ref to unknown file", _set(("coverage", "items", 0, "covered_by"), ["cards:card-one"]),
     ["coverage.yaml", "unknown file 'cards'"]),
    ("coverage ref without colon", _set(("coverage", "items", 0, "covered_by"), ["card-one"]),
     ["coverage.yaml", "<file>:<id>"]),
    ("typo reported as unknown, not as missing", _rename(("flashcards", "cards", 0), "back", "bakc"),
     ["flashcards.yaml", "card-one", "'bakc'", "unknown field", "allowed: back, concept"]),
    ("top-level key absent", _set(("flashcards", "cards"), _DELETE), ["flashcards.yaml", "'cards'", "missing"]),
    ("item not a mapping", _set(("flashcards", "cards", 0), "card-one"),
     ["flashcards.yaml", "cards[0]", "expected a mapping", "front"]),
    ("file empty", _set(("flashcards",), None), ["flashcards.yaml", "expected a mapping", "cards"]),
    ("duplicate checklist id", _dup_checklist_item,
     ["explain.yaml", "explain-one", "checklist[1]", "'id'", "duplicate id 'c1'"]),
    ("practice answer_index without options", _set(("practice", "problems", 0, "options"), _DELETE),
     ["practice.yaml", "prob-one", "'answer_index'", "without 'options'"]),
    ("quiz options with the same text", _set(("quizzes", "questions", 0, "options", 1, "text"), "yes"),
     ["quizzes.yaml", "q-one", "'options'", "same text"]),
    ("text list entry empty", _set(("practice", "problems", 0, "common_mistakes"), ["M1", "  "]),
     ["practice.yaml", "prob-one", "'common_mistakes[1]'", "must not be empty"]),
    ("optional text empty", _set(("quizzes", "questions", 0, "code"), " "),
     ["quizzes.yaml", "q-one", "'code'", "must not be empty"]),
    ("diagram with unbalanced braces", _set(("concepts", "concepts", 0, "diagram"), "digraph g { a -> b;"),
     ["concepts.yaml", "basics", "'diagram'", "unbalanced braces"]),
]


@pytest.mark.parametrize("name,mutate,expected", CASES, ids=[c[0] for c in CASES])
def test_validator_rejects(tmp_path, name, mutate, expected):
    data = copy.deepcopy(MINIMAL)
    mutate(data)
    folder = write_folder(tmp_path / "bad", data)
    with pytest.raises(LessonError) as info:
        load_lessons(folder)
    message = str(info.value)
    for part in expected:
        assert part in message, f"{name}: {part!r} not in message {message!r}"


def test_validator_rejects_missing_file(tmp_path):
    folder = write_folder(tmp_path / "bad", MINIMAL)
    (folder / "practice.yaml").unlink()
    with pytest.raises(LessonError, match=r"practice\.yaml: file missing"):
        load_lessons(folder)


def test_validator_rejects_invalid_yaml(tmp_path):
    folder = write_folder(tmp_path / "bad", MINIMAL)
    (folder / "flashcards.yaml").write_text("cards:\n  - id: x\n    front: a: b: c\n")
    with pytest.raises(LessonError, match=r"flashcards\.yaml: not valid YAML"):
        load_lessons(folder)


def test_validator_rejects_missing_folder(tmp_path):
    with pytest.raises(LessonError, match="does not exist"):
        load_lessons(tmp_path / "nowhere")


def test_lesson_error_is_value_error():
    assert issubclass(LessonError, ValueError)


# --------------------------------------------------------------------------- one model per item kind

# (file, path to one item or nested part in MINIMAL): every kind and nested part, so that a model
# accepting unknown fields anywhere fails here
NESTED = [(stem, (key, 0)) for stem, content in MINIMAL.items() for key in content] + [
    ("quizzes", ("questions", 0, "options", 0)),
    ("deep_dive", ("steps", 0, "predict")),
    ("practice", ("problems", 0, "steps", 0)),
    ("explain", ("prompts", 0, "checklist", 0)),
]


@pytest.mark.parametrize("stem,path", NESTED, ids=["/".join(map(str, (s, *p))) for s, p in NESTED])
def test_every_kind_rejects_unknown_fields(tmp_path, stem, path):
    data = copy.deepcopy(MINIMAL)
    target = data[stem]
    for key in path:
        target = target[key]
    target["colour"] = "red"
    with pytest.raises(LessonError) as info:
        load_lessons(write_folder(tmp_path / "bad", data))
    message = str(info.value)
    item = data[stem][path[0]][0]
    name = item.get("id") or item.get("label")
    for part in (f"{stem}.yaml", f"{path[0]}[0]", repr(name), "'colour'", "unknown field (allowed:"):
        assert part in message, (part, message)


def test_items_are_immutable_and_compare_by_value(tmp_path):
    a = load_lessons(write_folder(tmp_path / "a", MINIMAL))
    b = load_lessons(write_folder(tmp_path / "b", MINIMAL))
    assert a is not b and a.questions == b.questions and a.prompts == b.prompts
    assert hash(a.questions[0]) == hash(b.questions[0])  # hashable: usable as cache keys
    with pytest.raises(AttributeError):  # dataclasses.FrozenInstanceError
        a.cards[0].front = "changed"
    assert a.cards[0].front == "F?"
    # Still dataclasses (tests/test_explain_corpus.py derives items with replace), validated again
    assert dataclasses.replace(a.cards[0], front="Other?").front == "Other?"
    with pytest.raises(ValueError, match="bad level 'expert'"):
        dataclasses.replace(a.cards[0], level="expert")


def test_text_is_trimmed_and_code_keeps_its_indentation(tmp_path):
    data = copy.deepcopy(MINIMAL)
    data["flashcards"]["cards"][0]["front"] = "  Padded?  "
    data["quizzes"]["questions"][0]["code"] = "\nfor i in range(2):\n    print(i)\n\n"
    data["quizzes"]["questions"][0]["curves"] = {"source": "s", "val_acc": [0, 1]}
    L = load_lessons(write_folder(tmp_path / "ok", data))
    assert L.cards[0].front == "Padded?"
    assert L.questions[0].code == "for i in range(2):\n    print(i)"
    assert L.questions[0].curves.get("val_acc") == (0.0, 1.0)  # whole numbers read as floats


def test_optional_lists_may_be_empty_or_absent(tmp_path):
    data = copy.deepcopy(MINIMAL)
    data["deep_dive"]["myths"] = None
    del data["deep_dive"]["sections"]
    data["takeaways"]["use_cases"] = []
    L = load_lessons(write_folder(tmp_path / "ok", data))
    assert L.myths == () and L.sections == () and L.use_cases == ()


def test_kind_tables_follow_the_files():
    """KIND_FILES (attribute -> file) and FILE_KINDS (file -> attributes) are derived from one table;
    every Lessons attribute that holds items is in it, in file order."""
    assert list(lessons_mod.KIND_FILES) == ["concepts", "cards", "questions", "prompts", "steps", "myths",
                                            "sections", "pitfalls", "problems", "takeaways", "use_cases",
                                            "figures"]
    assert lessons_mod.FILE_KINDS["deep_dive"] == ("steps", "myths", "sections")
    assert all(lessons_mod.KIND_FILES[k] == stem for stem, kinds in lessons_mod.FILE_KINDS.items() for k in kinds)
