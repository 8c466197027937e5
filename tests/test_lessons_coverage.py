"""Every reference item in the seed lesson pages has a place in lessons/, and the lesson text is our own."""
import os
import re
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from core.content.lessons import load_lessons

ROOT = Path(__file__).resolve().parents[1]
LESSONS = ROOT / "lessons"
SEEDS = Path(os.environ.get("FTLAB_SEEDS_DIR") or Path(__file__).resolve().parents[2] / "shared" / "seeds")

SEED_FILES = (
    "000_370cb2aefa6166ba.txt",
    "001_04391597f9637825.txt",
    "002_9c3607db57cccc54.txt",
    "003_55b3b4d1885f445c.txt",
    "004_c14f5203a0b84b28.txt",
)

# How many reference items of each kind each seed page holds; the coverage labels name the kind.
EXPECTED = {
    "000": {"card": 5, "mcq": 5, "explain": 2},
    "001": {"practice": 5, "use case": 2, "takeaway": 3},
    "002": {"card": 5, "mcq": 5, "explain": 2},
    "003": {"step": 7, "myth": 4, "pitfall": 3, "takeaway": 5, "expert note": 3, "connection": 3,
            "overview": 3, "mental model": 2, "under the hood": 1, "why designed": 1,
            "when not to use": 1, "production patterns": 1},
    "004": {"card": 5, "mcq": 5, "explain": 2},
}


@pytest.fixture(scope="module")
def L():
    return load_lessons()


def _kind(label: str) -> str:
    # "003 step 4: choosing layers" -> "step"; "000 mcq 2: ..." -> "mcq"
    head = label.split(":", 1)[0]
    return re.sub(r"^\d{3}\s+", "", head).rstrip(" 0123456789").strip()


def test_every_coverage_reference_exists(L):
    assert L.coverage
    for item in L.coverage:
        assert item.covered_by, item.label
        for ref in item.covered_by:
            assert L.resolve(ref) is not None, (item.label, ref)


def test_every_seed_file_has_coverage_items(L):
    sources = Counter(item.source for item in L.coverage)
    for name in SEED_FILES:
        assert sources[name] >= 10, f"{name} has only {sources[name]} coverage items"
    assert set(sources) <= set(SEED_FILES), set(sources) - set(SEED_FILES)
    if SEEDS.is_dir():
        assert {p.name for p in SEEDS.glob("*.txt")} == set(SEED_FILES)


def test_labels_start_with_their_seed_number(L):
    for item in L.coverage:
        assert item.label[:3] == item.source[:3], item.label


def test_coverage_is_exhaustive_per_seed(L):
    found = defaultdict(Counter)
    for item in L.coverage:
        found[item.source[:3]][_kind(item.label)] += 1
    for seed, kinds in EXPECTED.items():
        for kind, n in kinds.items():
            assert found[seed][kind] >= n, f"seed {seed}: expected {n} '{kind}' items, found {found[seed][kind]}"


def test_coverage_points_at_the_right_kind(L):
    wanted = {"card": "cards", "mcq": "questions", "explain": "prompts", "step": "steps", "myth": "myths",
              "pitfall": "pitfalls", "practice": "problems", "takeaway": "takeaways", "use case": "use_cases"}
    for item in L.coverage:
        kind = wanted.get(_kind(item.label))
        if kind:
            kinds = {L.kind_of(L.resolve(ref)) for ref in item.covered_by}
            assert kind in kinds, f"{item.label!r} should point at a {kind} item, got {kinds}"


def test_explain_checklists_match_seed_concept_counts(L):
    for item in L.coverage:
        m = re.search(r"\((\d+) concepts\)", item.label)
        if m:
            prompts = [L.resolve(r) for r in item.covered_by if r.startswith("explain:")]
            assert prompts, item.label
            assert len(prompts[0].checklist) == int(m.group(1)), (item.label, prompts[0].id)


def _referenced(L):
    return {ref for item in L.coverage for ref in item.covered_by}


@pytest.mark.parametrize("kind,minimum", [
    ("steps", None), ("myths", None), ("sections", None), ("use_cases", None),
    ("cards", 12), ("questions", 15), ("prompts", 6), ("pitfalls", 3), ("problems", 5), ("takeaways", 8),
])
def test_lesson_items_are_referenced(L, kind, minimum):
    refs = _referenced(L)
    resolved = {id(L.resolve(r)) for r in refs}
    items = getattr(L, kind)
    hit = [i for i in items if id(i) in resolved]
    if minimum is None:
        missing = [i.id for i in items if id(i) not in resolved]
        assert not missing, f"{kind} not referenced from coverage.yaml: {missing}"
    else:
        assert len(hit) >= minimum, f"only {len(hit)} {kind} referenced"


def test_all_learning_items_present(L):
    # every kind the seeds use exists in the lessons, with the richer parts filled in
    assert all(s.predict for s in L.steps)
    assert all(p.steps and p.common_mistakes for p in L.problems)
    assert {"usecase-flowers", "usecase-defects"} <= {u.id for u in L.use_cases}
    assert all(p.checklist and p.model_answer for p in L.prompts)


# --------------------------------------------------------------------------- own words

N = 10


def _tokenisers():
    strip = ".,;:!?()[]{}\"'`*-_>#<=/\\|"
    return (
        lambda t: re.findall(r"[a-z0-9]+", t.lower()),
        lambda t: re.findall(r"[a-z0-9']+", t.lower()),
        lambda t: [w.strip(strip) for w in t.lower().split() if w.strip(strip)],
    )


def _grams(words):
    return {tuple(words[i:i + N]) for i in range(len(words) - N + 1)}


@pytest.mark.skipif(not SEEDS.is_dir(), reason=f"seed folder {SEEDS} not present")
def test_lessons_share_no_ten_word_run_with_seeds():
    seed_texts = [p.read_text(encoding="utf-8") for p in sorted(SEEDS.glob("*.txt"))]
    assert seed_texts
    problems = []
    for tok in _tokenisers():
        seed_grams = set()
        for text in seed_texts:
            seed_grams |= _grams(tok(text))
        for path in sorted(LESSONS.glob("*.yaml")) + [LESSONS / "SCHEMA.md"]:
            for gram in sorted(_grams(tok(path.read_text(encoding="utf-8"))) & seed_grams):
                problems.append(f"{path.name}: {' '.join(gram)}")
    assert not problems, "text copied from the seeds:\n" + "\n".join(sorted(set(problems)))
