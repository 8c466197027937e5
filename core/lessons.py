"""Lesson content: load and validate the YAML files in lessons/ (format: lessons/SCHEMA.md).

Plain Python (no Streamlit): pages, tests and the CLI all use it.

    from core.lessons import load_lessons
    lessons = load_lessons()                 # cached per folder
    lessons.concept("freezing").title
    lessons.by_id("questions", "freeze-meaning")
    lessons.resolve("quizzes:freeze-meaning")   # coverage-style "<file>:<id>" reference
    lessons.for_concept("freezing")["cards"]

Any schema violation raises LessonError, whose message names the file, the item (index and id)
and the field, so a content author can fix it without reading this module.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple, Union

import yaml

from core.scoring import pattern_words

LEVELS: Tuple[str, ...] = ("beginner", "intermediate", "advanced")

# Presets implemented by the hands-on lab; `lab_preset` fields must name one of these.
LAB_PRESET_IDS: Tuple[str, ...] = (
    "pretrained-vs-scratch",
    "head-only",
    "layers-compare",
    "lr-too-high",
    "overfit-tiny",
    "bn-train-mode",
    "gradual-unfreeze",
    "discriminative-lr",
    "head-frozen",  # the frozen-new-head pitfall, shown as the Lab refuses it
)

# Diagram kinds a figures.yaml entry may name; pages/lesson_diagrams.py draws each (a test keeps the two equal).
FIGURE_KINDS: Tuple[str, ...] = (
    "gradient-flow",
    "batchnorm-modes",
    "batchnorm-stats",
    "unfreeze-timeline",
    "which-layers-grid",
    "curve-shapes",
)

DEFAULT_FOLDER = Path(__file__).resolve().parents[1] / "lessons"

_ID_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


class LessonError(ValueError):
    """Lesson content does not follow lessons/SCHEMA.md."""


# --------------------------------------------------------------------------------------------
# Item kinds
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Concept:
    id: str
    title: str
    level: str
    summary: str
    body: str
    pytorch: Optional[str] = None
    keras: Optional[str] = None
    diagram: Optional[str] = None
    lab_preset: Optional[str] = None


@dataclass(frozen=True)
class Flashcard:
    id: str
    concept: str
    level: str
    front: str
    back: str


@dataclass(frozen=True)
class Option:
    text: str
    correct: bool
    why: str


# Series a quiz `curves` block may hold: one value per epoch, as the Lab's engine reports them.
CURVE_SERIES: Tuple[str, ...] = ("train_loss", "val_loss", "train_acc", "val_acc")


@dataclass(frozen=True)
class Curves:
    """A real run's per-epoch curves, stored with the command that produced them (`source`)."""
    source: str
    series: Tuple[Tuple[str, Tuple[float, ...]], ...]  # (name, values) in CURVE_SERIES order

    @property
    def epochs(self) -> int:
        return len(self.series[0][1])

    def get(self, name: str) -> Optional[Tuple[float, ...]]:
        return dict(self.series).get(name)


@dataclass(frozen=True)
class QuizQuestion:
    id: str
    concept: str
    level: str
    prompt: str
    options: Tuple[Option, ...]
    explanation: str
    code: Optional[str] = None
    output: Optional[str] = None  # a printout shown as-is (never executed, unlike `code`)
    curves: Optional[Curves] = None

    @property
    def correct_index(self) -> int:
        return next(i for i, o in enumerate(self.options) if o.correct)

    @property
    def correct_option(self) -> Option:
        return self.options[self.correct_index]


@dataclass(frozen=True)
class Direction:
    """A comparison the item claims: `low` sides get the small end of the scale, `high` the large."""
    about: Tuple[str, ...]
    low: Tuple[str, ...]
    high: Tuple[str, ...]
    belief: str  # the misconception named when an answer pairs them the wrong way round


@dataclass(frozen=True)
class Misconception:
    belief: str  # completes "This sounds like the misconception that ..."
    patterns: Tuple[str, ...]  # ordered word patterns; "..." allows a wider gap


@dataclass(frozen=True)
class ChecklistItem:
    id: str
    label: str
    any_of: Tuple[str, ...]
    direction: Optional[Direction] = None
    misconceptions: Tuple[Misconception, ...] = ()


@dataclass(frozen=True)
class ExplainPrompt:
    id: str
    concept: str
    level: str
    prompt: str
    hint: str
    checklist: Tuple[ChecklistItem, ...]
    model_answer: str


@dataclass(frozen=True)
class Predict:
    question: str
    options: Tuple[str, ...]
    answer: int
    reveal: str

    @property
    def answer_text(self) -> str:
        return self.options[self.answer]


@dataclass(frozen=True)
class DeepDiveStep:
    id: str
    title: str
    level: str
    body: str
    result: str
    insight: str
    predict: Optional[Predict] = None
    concept: Optional[str] = None


@dataclass(frozen=True)
class Myth:
    id: str
    belief: str
    predict_answer: bool
    reality: str
    why_it_matters: str
    concept: Optional[str] = None


@dataclass(frozen=True)
class Section:
    id: str
    title: str
    body: str
    diagram: Optional[str] = None


@dataclass(frozen=True)
class Pitfall:
    id: str
    title: str
    concept: str
    wrong_code: str
    correct_code: str
    root_cause: str
    lab_preset: Optional[str] = None
    symptom: Optional[str] = None


@dataclass(frozen=True)
class Step:
    title: str
    body: str


@dataclass(frozen=True)
class PracticeProblem:
    id: str
    title: str
    level: str
    concept: str
    question: str
    steps: Tuple[Step, ...]
    answer: str
    quick_check: str
    common_mistakes: Tuple[str, ...]
    code: Optional[str] = None
    options: Optional[Tuple[str, ...]] = None
    answer_index: Optional[int] = None


@dataclass(frozen=True)
class Takeaway:
    id: str
    text: str


@dataclass(frozen=True)
class UseCase:
    id: str
    title: str
    scratch: str
    fine_tuned: str
    body: str
    scratch_code: Optional[str] = None
    fine_tuned_code: Optional[str] = None


@dataclass(frozen=True)
class Figure:
    """A diagram the app draws (`kind`, one of FIGURE_KINDS) placed in one concept or one pitfall."""
    id: str
    kind: str
    title: str
    caption: str
    alt: str  # the figure in words, for screen readers and for anyone who cannot see the chart
    concept: Optional[str] = None
    pitfall: Optional[str] = None


@dataclass(frozen=True)
class CoverageItem:
    source: str
    label: str
    covered_by: Tuple[str, ...]


# attribute name on Lessons -> file stem it lives in
KIND_FILES: Dict[str, str] = {
    "concepts": "concepts",
    "cards": "flashcards",
    "questions": "quizzes",
    "prompts": "explain",
    "steps": "deep_dive",
    "myths": "deep_dive",
    "sections": "deep_dive",
    "pitfalls": "pitfalls",
    "problems": "practice",
    "takeaways": "takeaways",
    "use_cases": "takeaways",
    "figures": "figures",
}
# file stem -> the item kinds (Lessons attributes) it holds
FILE_KINDS: Dict[str, Tuple[str, ...]] = {}
for _kind, _file in KIND_FILES.items():
    FILE_KINDS.setdefault(_file, ())
    FILE_KINDS[_file] += (_kind,)
# singular aliases accepted by by_id()
_KIND_ALIASES = {
    "concept": "concepts",
    "card": "cards",
    "flashcard": "cards",
    "flashcards": "cards",
    "question": "questions",
    "quiz": "questions",
    "quizzes": "questions",
    "prompt": "prompts",
    "explain": "prompts",
    "step": "steps",
    "myth": "myths",
    "section": "sections",
    "pitfall": "pitfalls",
    "problem": "problems",
    "practice": "problems",
    "takeaway": "takeaways",
    "use_case": "use_cases",
    "use-case": "use_cases",
    "figure": "figures",
}


@dataclass(frozen=True)
class Lessons:
    concepts: Tuple[Concept, ...]
    cards: Tuple[Flashcard, ...]
    questions: Tuple[QuizQuestion, ...]
    prompts: Tuple[ExplainPrompt, ...]
    steps: Tuple[DeepDiveStep, ...]
    myths: Tuple[Myth, ...]
    sections: Tuple[Section, ...]
    pitfalls: Tuple[Pitfall, ...]
    problems: Tuple[PracticeProblem, ...]
    takeaways: Tuple[Takeaway, ...]
    use_cases: Tuple[UseCase, ...]
    coverage: Tuple[CoverageItem, ...]
    figures: Tuple[Figure, ...] = ()
    folder: str = ""
    _index: Dict[str, Dict[str, Any]] = field(default_factory=dict, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        index = {kind: {item.id: item for item in getattr(self, kind)} for kind in KIND_FILES}
        object.__setattr__(self, "_index", index)

    # -- lookups -------------------------------------------------------------------------------
    def concept(self, concept_id: str) -> Concept:
        """The concept with this id (KeyError if none)."""
        return self.by_id("concepts", concept_id)

    @property
    def concept_ids(self) -> Tuple[str, ...]:
        """Concept ids in teaching order."""
        return tuple(c.id for c in self.concepts)

    def by_id(self, kind: str, item_id: str) -> Any:
        """Item of a kind ('cards', 'questions', ... or singular 'card', 'question') by id."""
        kind = _KIND_ALIASES.get(kind, kind)
        if kind not in self._index:
            raise KeyError(f"unknown item kind {kind!r}; use one of {sorted(self._index)}")
        try:
            return self._index[kind][item_id]
        except KeyError:
            raise KeyError(f"no {kind} item with id {item_id!r}") from None

    def get(self, kind: str, item_id: str, default: Any = None) -> Any:
        try:
            return self.by_id(kind, item_id)
        except KeyError:
            return default

    def resolve(self, ref: str) -> Any:
        """Item for a coverage-style reference "<file>:<id>" (e.g. "deep_dive:myth-whole-model")."""
        item = _resolve(self._index, ref)
        if item is None:
            raise KeyError(f"reference {ref!r} does not name an existing item")
        return item

    def kind_of(self, item: Any) -> str:
        """Lessons attribute name ('cards', 'steps', ...) for an item of this collection."""
        for kind, items in self._index.items():
            if items.get(getattr(item, "id", None)) is item:
                return kind
        raise KeyError("item is not part of these lessons")

    def for_concept(self, concept_id: str) -> Dict[str, Tuple[Any, ...]]:
        """Everything attached to one concept: cards, questions, prompts, pitfalls, problems,
        steps and myths (the last two only when they name a concept)."""
        self.concept(concept_id)  # KeyError for an unknown id
        return {
            kind: tuple(i for i in getattr(self, kind) if getattr(i, "concept", None) == concept_id)
            for kind in ("cards", "questions", "prompts", "pitfalls", "problems", "steps", "myths")
        }

    def figures_for(self, concept: Optional[str] = None, pitfall: Optional[str] = None) -> Tuple[Figure, ...]:
        """Figures placed in one concept or one pitfall, in figures.yaml order."""
        return tuple(f for f in self.figures if (concept and f.concept == concept) or (pitfall and f.pitfall == pitfall))

    def at_level(self, kind: str, level: str) -> Tuple[Any, ...]:
        """Items of a kind at one level (kinds without a level return nothing)."""
        kind = _KIND_ALIASES.get(kind, kind)
        return tuple(i for i in getattr(self, kind) if getattr(i, "level", None) == level)

    def counts(self) -> Dict[str, int]:
        return {kind: len(getattr(self, kind)) for kind in (*KIND_FILES, "coverage")}


def _resolve(index: Mapping[str, Mapping[str, Any]], ref: str) -> Any:
    if not isinstance(ref, str) or ":" not in ref:
        return None
    stem, _, item_id = ref.partition(":")
    for kind in FILE_KINDS.get(stem.strip(), ()):
        item = index[kind].get(item_id.strip())
        if item is not None:
            return item
    return None


# --------------------------------------------------------------------------------------------
# Validation helpers
# --------------------------------------------------------------------------------------------


class _Ctx:
    """Where we are: file, item index/id, for error messages."""

    def __init__(self, filename: str, where: str = "") -> None:
        self.filename = filename
        self.where = where

    def item(self, key: str, index: int, item_id: Any = None) -> "_Ctx":
        where = f"{key}[{index}]"
        if item_id is not None:
            where += f" (id {item_id!r})"
        return _Ctx(self.filename, where)

    def sub(self, text: str) -> "_Ctx":
        return _Ctx(self.filename, f"{self.where} {text}".strip())

    def error(self, fieldname: Optional[str], message: str) -> LessonError:
        parts = [self.filename]
        if self.where:
            parts.append(self.where)
        if fieldname:
            parts.append(f"field '{fieldname}'")
        return LessonError(": ".join(parts) + ": " + message)


def _type_name(value: Any) -> str:
    return {dict: "a mapping", list: "a list", str: "text", bool: "true/false", int: "a number",
            float: "a number", type(None): "nothing (empty)"}.get(type(value), type(value).__name__)


def _check_fields(data: Any, ctx: _Ctx, required: Iterable[str], optional: Iterable[str] = ()) -> dict:
    if not isinstance(data, dict):
        raise ctx.error(None, f"expected a mapping of fields, got {_type_name(data)}")
    required = tuple(required)
    allowed = set(required) | set(optional)
    for name in required:
        if name not in data:
            raise ctx.error(name, "missing required field")
    unknown = sorted(str(k) for k in data if k not in allowed)
    if unknown:
        raise ctx.error(unknown[0], f"unknown field (allowed: {', '.join(sorted(allowed))})")
    return data


def _text(data: dict, name: str, ctx: _Ctx, optional: bool = False) -> Optional[str]:
    if name not in data or (optional and data[name] is None):
        if optional:
            return None
        raise ctx.error(name, "missing required field")
    value = data[name]
    if not isinstance(value, str):
        raise ctx.error(name, f"expected text, got {_type_name(value)} ({value!r}); quote it in YAML")
    if not value.strip():
        raise ctx.error(name, "must not be empty")
    return value.strip("\n").rstrip() if "\n" in value.strip() else value.strip()


def _bool(data: dict, name: str, ctx: _Ctx) -> bool:
    value = data.get(name)
    if not isinstance(value, bool):
        raise ctx.error(name, f"expected true or false, got {_type_name(value)} ({value!r})")
    return value


def _level(data: dict, ctx: _Ctx) -> str:
    value = _text(data, "level", ctx)
    if value not in LEVELS:
        raise ctx.error("level", f"bad level {value!r}; use one of {', '.join(LEVELS)}")
    return value


def _id(data: dict, ctx: _Ctx, seen: Dict[str, str], name: str = "id") -> str:
    value = data.get(name)
    if not isinstance(value, str) or not _ID_RE.match(value):
        raise ctx.error(name, f"bad id {value!r}: use lowercase letters, digits and single dashes")
    if value in seen:
        raise ctx.error(name, f"duplicate id {value!r} (already used by {seen[value]})")
    seen[value] = ctx.where or "an earlier item"
    return value


def _list(data: dict, name: str, ctx: _Ctx, min_len: int = 1) -> list:
    value = data.get(name)
    if not isinstance(value, list):
        raise ctx.error(name, f"expected a list, got {_type_name(value)}")
    if len(value) < min_len:
        raise ctx.error(name, f"expected at least {min_len} entr{'y' if min_len == 1 else 'ies'}, got {len(value)}")
    return value


def _text_list(data: dict, name: str, ctx: _Ctx, min_len: int = 1) -> Tuple[str, ...]:
    values = _list(data, name, ctx, min_len)
    out = []
    for i, v in enumerate(values):
        if not isinstance(v, str) or not v.strip():
            raise ctx.error(f"{name}[{i}]", f"expected non-empty text, got {_type_name(v)} ({v!r}); quote it in YAML")
        out.append(v.strip())
    return tuple(out)


def _concept_ref(data: dict, ctx: _Ctx, concept_ids: Mapping[str, Any], optional: bool = False) -> Optional[str]:
    value = _text(data, "concept", ctx, optional=optional)
    if value is None:
        return None
    if value not in concept_ids:
        raise ctx.error("concept", f"unknown concept {value!r} (not an id in concepts.yaml)")
    return value


def _lab_preset(data: dict, ctx: _Ctx) -> Optional[str]:
    value = _text(data, "lab_preset", ctx, optional=True)
    if value is not None and value not in LAB_PRESET_IDS:
        raise ctx.error("lab_preset", f"unknown lab preset {value!r}; use one of {', '.join(LAB_PRESET_IDS)}")
    return value


def _diagram(data: dict, ctx: _Ctx) -> Optional[str]:
    value = _text(data, "diagram", ctx, optional=True)
    if value is not None:
        head = value.lstrip().lower()
        if not (head.startswith("digraph") or head.startswith("graph") or head.startswith("strict")):
            raise ctx.error("diagram", "expected Graphviz DOT source starting with 'digraph' or 'graph'")
        if value.count("{") != value.count("}"):
            raise ctx.error("diagram", "unbalanced braces in Graphviz DOT source")
    return value


def _read_yaml(path: Path, keys: Tuple[str, ...], optional_keys: Tuple[str, ...] = ()) -> Dict[str, list]:
    name = path.name
    if not path.is_file():
        raise LessonError(f"{name}: file missing from lessons folder {path.parent}")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise LessonError(f"{name}: not valid YAML: {exc}") from exc
    ctx = _Ctx(name)
    if not isinstance(data, dict):
        raise ctx.error(None, f"expected a mapping with top-level key(s) {', '.join(keys)}, got {_type_name(data)}")
    allowed = set(keys) | set(optional_keys)
    for k in data:
        if k not in allowed:
            raise ctx.error(None, f"unknown top-level key {k!r} (allowed: {', '.join(sorted(allowed))})")
    out = {}
    for k in keys + optional_keys:
        if k not in data:
            if k in optional_keys:
                out[k] = []
                continue
            raise ctx.error(None, f"missing top-level key {k!r}")
        value = data[k]
        if value is None and k in optional_keys:
            value = []
        if not isinstance(value, list):
            raise ctx.error(None, f"top-level key {k!r} must hold a list, got {_type_name(value)}")
        out[k] = value
    return out


# --------------------------------------------------------------------------------------------
# Per-kind parsers
# --------------------------------------------------------------------------------------------


def _parse_concepts(raw: list, fname: str) -> Tuple[Concept, ...]:
    seen: Dict[str, str] = {}
    out = []
    for i, d in enumerate(raw):
        ctx = _Ctx(fname).item("concepts", i, d.get("id") if isinstance(d, dict) else None)
        _check_fields(d, ctx, ("id", "title", "level", "summary", "body"),
                      ("pytorch", "keras", "diagram", "lab_preset"))
        out.append(Concept(
            id=_id(d, ctx, seen), title=_text(d, "title", ctx), level=_level(d, ctx),
            summary=_text(d, "summary", ctx), body=_text(d, "body", ctx),
            pytorch=_text(d, "pytorch", ctx, optional=True), keras=_text(d, "keras", ctx, optional=True),
            diagram=_diagram(d, ctx), lab_preset=_lab_preset(d, ctx),
        ))
    return tuple(out)


def _parse_cards(raw: list, fname: str, concepts: Mapping[str, Any]) -> Tuple[Flashcard, ...]:
    seen: Dict[str, str] = {}
    out = []
    for i, d in enumerate(raw):
        ctx = _Ctx(fname).item("cards", i, d.get("id") if isinstance(d, dict) else None)
        _check_fields(d, ctx, ("id", "concept", "level", "front", "back"))
        out.append(Flashcard(
            id=_id(d, ctx, seen), concept=_concept_ref(d, ctx, concepts), level=_level(d, ctx),
            front=_text(d, "front", ctx), back=_text(d, "back", ctx),
        ))
    return tuple(out)


def _parse_questions(raw: list, fname: str, concepts: Mapping[str, Any]) -> Tuple[QuizQuestion, ...]:
    seen: Dict[str, str] = {}
    out = []
    for i, d in enumerate(raw):
        ctx = _Ctx(fname).item("questions", i, d.get("id") if isinstance(d, dict) else None)
        _check_fields(d, ctx, ("id", "concept", "level", "prompt", "options", "explanation"),
                      ("code", "output", "curves"))
        qid = _id(d, ctx, seen)
        options = []
        raw_opts = _list(d, "options", ctx, min_len=2)
        for j, o in enumerate(raw_opts):
            octx = ctx.sub(f"options[{j}]")
            _check_fields(o, octx, ("text", "correct", "why"))
            options.append(Option(text=_text(o, "text", octx), correct=_bool(o, "correct", octx),
                                  why=_text(o, "why", octx)))
        n_correct = sum(o.correct for o in options)
        if n_correct != 1:
            raise ctx.error("options", f"a quiz question needs exactly one correct option, found {n_correct}")
        texts = [o.text for o in options]
        if len(set(texts)) != len(texts):
            raise ctx.error("options", "two options have the same text")
        out.append(QuizQuestion(
            id=qid, concept=_concept_ref(d, ctx, concepts), level=_level(d, ctx),
            prompt=_text(d, "prompt", ctx), options=tuple(options),
            explanation=_text(d, "explanation", ctx), code=_text(d, "code", ctx, optional=True),
            output=_text(d, "output", ctx, optional=True), curves=_curves(d.get("curves"), ctx),
        ))
    return tuple(out)


def _curves(d: Any, ctx: _Ctx) -> Optional[Curves]:
    """A `curves` block: `source` (the command that made the run) plus per-epoch number lists."""
    if d is None:
        return None
    cctx = ctx.sub("curves")
    _check_fields(d, cctx, ("source",), CURVE_SERIES)
    series = []
    for name in CURVE_SERIES:
        if name not in d:
            continue
        values = _list(d, name, cctx, min_len=2)
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            raise cctx.error(name, "expected a list of numbers, one per epoch")
        series.append((name, tuple(float(v) for v in values)))
    if not series:
        raise cctx.error(None, f"no series: give at least one of {', '.join(CURVE_SERIES)}")
    if len({len(v) for _, v in series}) != 1:
        raise cctx.error(None, "every series needs one value per epoch (the lists differ in length)")
    return Curves(source=_text(d, "source", cctx), series=tuple(series))


def _parse_prompts(raw: list, fname: str, concepts: Mapping[str, Any]) -> Tuple[ExplainPrompt, ...]:
    seen: Dict[str, str] = {}
    out = []
    for i, d in enumerate(raw):
        ctx = _Ctx(fname).item("prompts", i, d.get("id") if isinstance(d, dict) else None)
        _check_fields(d, ctx, ("id", "concept", "level", "prompt", "hint", "checklist", "model_answer"))
        pid = _id(d, ctx, seen)
        raw_items = d.get("checklist")
        if isinstance(raw_items, list) and not raw_items:
            raise ctx.error("checklist", "checklist is empty: list the concepts a good answer mentions")
        raw_items = _list(d, "checklist", ctx, min_len=1)
        items = []
        item_seen: Dict[str, str] = {}
        for j, c in enumerate(raw_items):
            cctx = ctx.sub(f"checklist[{j}]")
            _check_fields(c, cctx, ("id", "label", "any_of"), ("direction", "misconceptions"))
            items.append(ChecklistItem(id=_id(c, cctx, item_seen), label=_text(c, "label", cctx),
                                       any_of=_text_list(c, "any_of", cctx),
                                       direction=_parse_direction(c, cctx),
                                       misconceptions=_parse_misconceptions(c, cctx)))
        out.append(ExplainPrompt(
            id=pid, concept=_concept_ref(d, ctx, concepts), level=_level(d, ctx),
            prompt=_text(d, "prompt", ctx), hint=_text(d, "hint", ctx), checklist=tuple(items),
            model_answer=_text(d, "model_answer", ctx),
        ))
    return tuple(out)


def _parse_direction(c: dict, ctx: _Ctx) -> Optional[Direction]:
    if c.get("direction") is None:
        return None
    dctx = ctx.sub("direction")
    d = _check_fields(c["direction"], dctx, ("about", "low", "high", "belief"))
    return Direction(about=_text_list(d, "about", dctx), low=_text_list(d, "low", dctx),
                     high=_text_list(d, "high", dctx), belief=_text(d, "belief", dctx))


def _parse_misconceptions(c: dict, ctx: _Ctx) -> Tuple[Misconception, ...]:
    out = []
    for k, m in enumerate(_list(c, "misconceptions", ctx, min_len=1) if "misconceptions" in c else ()):
        mctx = ctx.sub(f"misconceptions[{k}]")
        _check_fields(m, mctx, ("belief", "patterns"))
        patterns = _text_list(m, "patterns", mctx)
        for n, pattern in enumerate(patterns):
            if not pattern_words(pattern):
                raise mctx.error(f"patterns[{n}]", f"pattern {pattern!r} has no word the scorer can match "
                                 "(only words such as 'the', 'it', 'of'); name what the answer would say")
        out.append(Misconception(belief=_text(m, "belief", mctx), patterns=patterns))
    return tuple(out)


def _parse_predict(d: Any, ctx: _Ctx) -> Optional[Predict]:
    if d is None:
        return None
    pctx = ctx.sub("predict")
    _check_fields(d, pctx, ("question", "options", "answer", "reveal"))
    options = _text_list(d, "options", pctx, min_len=2)
    answer = d.get("answer")
    if not isinstance(answer, int) or isinstance(answer, bool):
        raise pctx.error("answer", f"expected the index (0-based) of the right option, got {_type_name(answer)} ({answer!r})")
    if not 0 <= answer < len(options):
        raise pctx.error("answer", f"index {answer} out of range: there are {len(options)} options (0..{len(options) - 1})")
    return Predict(question=_text(d, "question", pctx), options=options, answer=answer,
                   reveal=_text(d, "reveal", pctx))


def _parse_deep_dive(raw: Dict[str, list], fname: str, concepts: Mapping[str, Any]):
    seen: Dict[str, str] = {}  # ids are unique across the whole file
    steps, myths, sections = [], [], []
    for i, d in enumerate(raw["steps"]):
        ctx = _Ctx(fname).item("steps", i, d.get("id") if isinstance(d, dict) else None)
        _check_fields(d, ctx, ("id", "title", "level", "body", "result", "insight"), ("predict", "concept"))
        steps.append(DeepDiveStep(
            id=_id(d, ctx, seen), title=_text(d, "title", ctx), level=_level(d, ctx),
            body=_text(d, "body", ctx), result=_text(d, "result", ctx), insight=_text(d, "insight", ctx),
            predict=_parse_predict(d.get("predict"), ctx),
            concept=_concept_ref(d, ctx, concepts, optional=True),
        ))
    for i, d in enumerate(raw["myths"]):
        ctx = _Ctx(fname).item("myths", i, d.get("id") if isinstance(d, dict) else None)
        _check_fields(d, ctx, ("id", "belief", "predict_answer", "reality", "why_it_matters"), ("concept",))
        myths.append(Myth(
            id=_id(d, ctx, seen), belief=_text(d, "belief", ctx),
            predict_answer=_bool(d, "predict_answer", ctx), reality=_text(d, "reality", ctx),
            why_it_matters=_text(d, "why_it_matters", ctx),
            concept=_concept_ref(d, ctx, concepts, optional=True),
        ))
    for i, d in enumerate(raw["sections"]):
        ctx = _Ctx(fname).item("sections", i, d.get("id") if isinstance(d, dict) else None)
        _check_fields(d, ctx, ("id", "title", "body"), ("diagram",))
        sections.append(Section(id=_id(d, ctx, seen), title=_text(d, "title", ctx),
                                body=_text(d, "body", ctx), diagram=_diagram(d, ctx)))
    return tuple(steps), tuple(myths), tuple(sections)


def _parse_pitfalls(raw: list, fname: str, concepts: Mapping[str, Any]) -> Tuple[Pitfall, ...]:
    seen: Dict[str, str] = {}
    out = []
    for i, d in enumerate(raw):
        ctx = _Ctx(fname).item("pitfalls", i, d.get("id") if isinstance(d, dict) else None)
        _check_fields(d, ctx, ("id", "title", "concept", "wrong_code", "correct_code", "root_cause"),
                      ("lab_preset", "symptom"))
        out.append(Pitfall(
            id=_id(d, ctx, seen), title=_text(d, "title", ctx), concept=_concept_ref(d, ctx, concepts),
            wrong_code=_text(d, "wrong_code", ctx), correct_code=_text(d, "correct_code", ctx),
            root_cause=_text(d, "root_cause", ctx), lab_preset=_lab_preset(d, ctx),
            symptom=_text(d, "symptom", ctx, optional=True),
        ))
    return tuple(out)


def _parse_problems(raw: list, fname: str, concepts: Mapping[str, Any]) -> Tuple[PracticeProblem, ...]:
    seen: Dict[str, str] = {}
    out = []
    for i, d in enumerate(raw):
        ctx = _Ctx(fname).item("problems", i, d.get("id") if isinstance(d, dict) else None)
        _check_fields(d, ctx, ("id", "title", "level", "concept", "question", "steps", "answer",
                               "quick_check", "common_mistakes"), ("code", "options", "answer_index"))
        pid = _id(d, ctx, seen)
        raw_steps = d.get("steps")
        if raw_steps is None or (isinstance(raw_steps, list) and not raw_steps):
            raise ctx.error("steps", "a practice problem needs a step-by-step solution (at least one step)")
        steps = []
        for j, s in enumerate(_list(d, "steps", ctx, min_len=1)):
            sctx = ctx.sub(f"steps[{j}]")
            _check_fields(s, sctx, ("title", "body"))
            steps.append(Step(title=_text(s, "title", sctx), body=_text(s, "body", sctx)))
        options = _text_list(d, "options", ctx, min_len=2) if d.get("options") is not None else None
        answer_index = d.get("answer_index")
        if answer_index is not None:
            if options is None:
                raise ctx.error("answer_index", "given without 'options'")
            if not isinstance(answer_index, int) or isinstance(answer_index, bool):
                raise ctx.error("answer_index", f"expected a 0-based option index, got {_type_name(answer_index)}")
            if not 0 <= answer_index < len(options):
                raise ctx.error("answer_index", f"index {answer_index} out of range: there are {len(options)} options")
        out.append(PracticeProblem(
            id=pid, title=_text(d, "title", ctx), level=_level(d, ctx),
            concept=_concept_ref(d, ctx, concepts), question=_text(d, "question", ctx),
            steps=tuple(steps), answer=_text(d, "answer", ctx), quick_check=_text(d, "quick_check", ctx),
            common_mistakes=_text_list(d, "common_mistakes", ctx, min_len=1),
            code=_text(d, "code", ctx, optional=True), options=options, answer_index=answer_index,
        ))
    return tuple(out)


def _parse_takeaways(raw: Dict[str, list], fname: str):
    seen: Dict[str, str] = {}
    takeaways, use_cases = [], []
    for i, d in enumerate(raw["takeaways"]):
        ctx = _Ctx(fname).item("takeaways", i, d.get("id") if isinstance(d, dict) else None)
        _check_fields(d, ctx, ("id", "text"))
        takeaways.append(Takeaway(id=_id(d, ctx, seen), text=_text(d, "text", ctx)))
    for i, d in enumerate(raw["use_cases"]):
        ctx = _Ctx(fname).item("use_cases", i, d.get("id") if isinstance(d, dict) else None)
        _check_fields(d, ctx, ("id", "title", "scratch", "fine_tuned", "body"), ("scratch_code", "fine_tuned_code"))
        use_cases.append(UseCase(
            id=_id(d, ctx, seen), title=_text(d, "title", ctx), scratch=_text(d, "scratch", ctx),
            fine_tuned=_text(d, "fine_tuned", ctx), body=_text(d, "body", ctx),
            scratch_code=_text(d, "scratch_code", ctx, optional=True),
            fine_tuned_code=_text(d, "fine_tuned_code", ctx, optional=True),
        ))
    return tuple(takeaways), tuple(use_cases)


def _parse_figures(raw: list, fname: str, concepts: Mapping[str, Any], pitfalls: Mapping[str, Any]) -> Tuple[Figure, ...]:
    seen: Dict[str, str] = {}
    out = []
    for i, d in enumerate(raw):
        ctx = _Ctx(fname).item("figures", i, d.get("id") if isinstance(d, dict) else None)
        _check_fields(d, ctx, ("id", "kind", "title", "caption", "alt"), ("concept", "pitfall"))
        fid, kind = _id(d, ctx, seen), _text(d, "kind", ctx)
        if kind not in FIGURE_KINDS:
            raise ctx.error("kind", f"unknown diagram kind {kind!r}; use one of {', '.join(FIGURE_KINDS)}")
        if ("concept" in d) == ("pitfall" in d):
            raise ctx.error("concept", "place the figure with exactly one of 'concept' or 'pitfall'")
        pitfall = _text(d, "pitfall", ctx, optional=True)
        if pitfall is not None and pitfall not in pitfalls:
            raise ctx.error("pitfall", f"unknown pitfall {pitfall!r} (not an id in pitfalls.yaml)")
        out.append(Figure(id=fid, kind=kind, title=_text(d, "title", ctx), caption=_text(d, "caption", ctx),
                          alt=_text(d, "alt", ctx), concept=_concept_ref(d, ctx, concepts, optional=True),
                          pitfall=pitfall))
    return tuple(out)


def _parse_coverage(raw: list, fname: str, index: Mapping[str, Mapping[str, Any]]) -> Tuple[CoverageItem, ...]:
    out = []
    for i, d in enumerate(raw):
        ctx = _Ctx(fname).item("items", i)
        _check_fields(d, ctx, ("source", "label", "covered_by"))
        label = _text(d, "label", ctx)
        ctx = _Ctx(fname, f"items[{i}] ({label!r})")
        refs = _text_list(d, "covered_by", ctx, min_len=1)
        for ref in refs:
            if ":" not in ref:
                raise ctx.error("covered_by", f"bad reference {ref!r}: write '<file>:<id>', e.g. 'quizzes:freeze-meaning'")
            stem = ref.partition(":")[0]
            if stem not in FILE_KINDS:
                raise ctx.error("covered_by", f"reference {ref!r} names unknown file {stem!r} (use one of {', '.join(sorted(FILE_KINDS))})")
            if _resolve(index, ref) is None:
                raise ctx.error("covered_by", f"reference {ref!r}: no item with that id in {stem}.yaml")
        out.append(CoverageItem(source=_text(d, "source", ctx), label=label, covered_by=refs))
    return tuple(out)


# --------------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------------


def load_lessons(folder: Union[str, Path, None] = None) -> Lessons:
    """Load and validate every lesson file in `folder` (default: the repo's lessons/). Cached per
    folder path; call `load_lessons.cache_clear()` after editing files in a running process."""
    path = Path(folder) if folder is not None else DEFAULT_FOLDER
    return _load_cached(str(path.resolve()))


@functools.lru_cache(maxsize=16)
def _load_cached(folder: str) -> Lessons:
    base = Path(folder)
    if not base.is_dir():
        raise LessonError(f"lessons folder {folder} does not exist")
    f = lambda stem: base / f"{stem}.yaml"  # noqa: E731

    concepts = _parse_concepts(_read_yaml(f("concepts"), ("concepts",))["concepts"], "concepts.yaml")
    cids = {c.id: c for c in concepts}
    cards = _parse_cards(_read_yaml(f("flashcards"), ("cards",))["cards"], "flashcards.yaml", cids)
    questions = _parse_questions(_read_yaml(f("quizzes"), ("questions",))["questions"], "quizzes.yaml", cids)
    prompts = _parse_prompts(_read_yaml(f("explain"), ("prompts",))["prompts"], "explain.yaml", cids)
    steps, myths, sections = _parse_deep_dive(
        _read_yaml(f("deep_dive"), ("steps",), ("myths", "sections")), "deep_dive.yaml", cids)
    pitfalls = _parse_pitfalls(_read_yaml(f("pitfalls"), ("pitfalls",))["pitfalls"], "pitfalls.yaml", cids)
    problems = _parse_problems(_read_yaml(f("practice"), ("problems",))["problems"], "practice.yaml", cids)
    takeaways, use_cases = _parse_takeaways(
        _read_yaml(f("takeaways"), ("takeaways",), ("use_cases",)), "takeaways.yaml")

    figures = ()
    if f("figures").is_file():  # optional: lessons without diagrams stay valid
        figures = _parse_figures(_read_yaml(f("figures"), ("figures",))["figures"], "figures.yaml", cids,
                                 {p.id: p for p in pitfalls})

    lessons = Lessons(concepts=concepts, cards=cards, questions=questions, prompts=prompts, steps=steps,
                      myths=myths, sections=sections, pitfalls=pitfalls, problems=problems,
                      takeaways=takeaways, use_cases=use_cases, coverage=(), figures=figures, folder=folder)
    coverage_path = f("coverage")
    if coverage_path.is_file():
        coverage = _parse_coverage(_read_yaml(coverage_path, ("items",))["items"], "coverage.yaml", lessons._index)
        lessons = Lessons(**{**{k: getattr(lessons, k) for k in (*KIND_FILES, "folder")}, "coverage": coverage})
    return lessons


load_lessons.cache_clear = _load_cached.cache_clear  # type: ignore[attr-defined]
