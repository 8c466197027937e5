"""Lesson content: load and validate the YAML files in lessons/ (format: lessons/SCHEMA.md).

Plain Python (no Streamlit): pages, tests and the CLI all use it.

    from core.content.lessons import load_lessons
    lessons = load_lessons()                 # cached per folder
    lessons.concept("freezing").title
    lessons.by_id("questions", "freeze-meaning")
    lessons.resolve("quizzes:freeze-meaning")   # coverage-style "<file>:<id>" reference
    lessons.for_concept("freezing")["cards"]

Each item kind is one pydantic dataclass: its fields, types and per-field checks are declared once,
and unknown fields are rejected (a typo such as `corect:` fails instead of being ignored). What needs
the whole collection (unique ids, concept and pitfall references, coverage references) is one pass
after parsing. Any violation raises LessonError, whose message names the file, the item (index and id) and
the field, so a content author can fix it without reading this module.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, get_args

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    create_model,
    field_validator,
    model_validator,
)
from pydantic.dataclasses import dataclass as pydantic_dataclass
from pydantic.dataclasses import is_pydantic_dataclass

from core.content.text_match import pattern_words
from core.lab.presets import PRESETS

LEVELS: tuple[str, ...] = ("beginner", "intermediate", "advanced")

# Presets implemented by the hands-on lab; `lab_preset` fields must name one of these. The registry
# imports without torch (tests/test_code_checks.py), so lessons load fast.
LAB_PRESET_IDS: tuple[str, ...] = tuple(PRESETS)

# Diagram kinds a figures.yaml entry may name; ui/lesson_diagrams.py draws each (a test keeps the two equal).
FIGURE_KINDS: tuple[str, ...] = (
    "gradient-flow",
    "batchnorm-modes",
    "batchnorm-stats",
    "unfreeze-timeline",
    "which-layers-grid",
    "curve-shapes",
    "stem-filters",
)

# Series a quiz `curves` block may hold: one value per epoch, as the Lab's engine reports them.
CURVE_SERIES: tuple[str, ...] = ("train_loss", "val_loss", "train_acc", "val_acc")

DEFAULT_FOLDER = Path(__file__).resolve().parents[2] / "lessons"

_ID_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
# libyaml's parser when installed: the same documents, 9x faster than the pure-Python one on
# lessons/ (0.12 s against 1.06 s on a busy 2-core machine).
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class LessonError(ValueError):
    """Lesson content does not follow lessons/SCHEMA.md."""


# --------------------------------------------------------------------------------------------
# Field types: each check written once, with the message a content author sees (a ValueError
# raised here reaches them as "<file>: <item>: field '<name>': <message>")
# --------------------------------------------------------------------------------------------


def _type_name(value: Any) -> str:
    return {
        dict: "a mapping",
        list: "a list",
        str: "text",
        bool: "true/false",
        int: "a number",
        float: "a number",
        type(None): "nothing (empty)",
    }.get(type(value), type(value).__name__)


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected text, got {_type_name(value)} ({value!r}); quote it in YAML")
    if not value.strip():
        raise ValueError("must not be empty")
    # Multi-line text (code, DOT) keeps its first line's indentation; one-liners are trimmed.
    return value.strip("\n").rstrip() if "\n" in value.strip() else value.strip()


def _id(value: Any) -> str:
    if not isinstance(value, str) or not _ID_RE.match(value):
        raise ValueError(f"bad id {value!r}: use lowercase letters, digits and single dashes")
    return value


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"expected true or false, got {_type_name(value)} ({value!r})")
    return value


def _index(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"expected the index (0-based) of the right option, got {_type_name(value)} ({value!r})")
    return value


def _numbers(value: Any) -> Any:
    numbers = isinstance(value, (list, tuple)) and all(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in value
    )
    if not numbers:
        raise ValueError("expected a list of numbers, one per epoch")
    return value


def _dot(value: str) -> str:
    if not value.lstrip().lower().startswith(("digraph", "graph", "strict")):
        raise ValueError("expected Graphviz DOT source starting with 'digraph' or 'graph'")
    if value.count("{") != value.count("}"):
        raise ValueError("unbalanced braces in Graphviz DOT source")
    return value


def _matchable(pattern: str) -> str:
    if not pattern_words(pattern):
        raise ValueError(
            f"pattern {pattern!r} has no word the scorer can match "
            "(only words such as 'the', 'it', 'of'); name what the answer would say"
        )
    return pattern


def _one_of(choices: tuple[str, ...], what: str) -> AfterValidator:
    def check(value: str) -> str:
        if value not in choices:
            raise ValueError(f"{what} {value!r}; use one of {', '.join(choices)}")
        return value

    return AfterValidator(check)


def _non_empty(message: str) -> BeforeValidator:
    """An empty YAML list gets a message saying what belongs in it (a missing one: 'missing required
    field'). Only lists: an empty tuple is a default or a `dataclasses.replace` argument."""

    def check(value: Any) -> Any:
        if value == []:
            raise ValueError(message)
        return value

    return BeforeValidator(check)


Text = Annotated[str, BeforeValidator(_text)]
Texts = Annotated[tuple[Text, ...], Field(min_length=1)]
Id = Annotated[str, BeforeValidator(_id)]
Flag = Annotated[bool, BeforeValidator(_flag)]
Index = Annotated[int, BeforeValidator(_index)]
Level = Annotated[Text, _one_of(LEVELS, "bad level")]
LabPreset = Annotated[Text, _one_of(LAB_PRESET_IDS, "unknown lab preset")]
Diagram = Annotated[Text, AfterValidator(_dot)]
Series = Annotated[tuple[float, ...], BeforeValidator(_numbers), Field(min_length=2)]


class _Model(BaseModel):
    # protected_namespaces=(): `model_answer` is a content field, not a pydantic method.
    model_config = ConfigDict(extra="forbid", frozen=True, protected_namespaces=())


# Items are pydantic dataclasses with the same config: validated like models, and still dataclasses
# (tests/test_snippets.py lists fields with dataclasses.fields, tests/test_explain_corpus.py derives
# items with dataclasses.replace, which validates the result again).
_item = functools.partial(pydantic_dataclass, config=_Model.model_config)


def _option_index(value: int | None, info: ValidationInfo) -> int | None:
    """`value` must index the item's `options` (already validated: they are declared first)."""
    if value is None or "options" not in info.data:  # no index, or the options failed (reported)
        return value
    options = info.data["options"]
    if options is None:
        raise ValueError("given without 'options'")
    if not 0 <= value < len(options):
        raise ValueError(f"index {value} out of range: there are {len(options)} options (0..{len(options) - 1})")
    return value


# --------------------------------------------------------------------------------------------
# Item kinds
# --------------------------------------------------------------------------------------------


@_item
class Concept:
    id: Id
    title: Text
    level: Level
    summary: Text
    body: Text
    pytorch: Text | None = None
    keras: Text | None = None
    diagram: Diagram | None = None
    lab_preset: LabPreset | None = None


@_item
class Flashcard:
    id: Id
    concept: Text
    level: Level
    front: Text
    back: Text


@_item
class Option:
    text: Text
    correct: Flag
    why: Text


@_item
class Curves:
    """A real run's per-epoch curves, stored with the command that produced them (`source`)."""

    source: Text
    train_loss: Series | None = None
    val_loss: Series | None = None
    train_acc: Series | None = None
    val_acc: Series | None = None

    @model_validator(mode="after")
    def _one_value_per_epoch(self) -> Curves:
        if not self.series:
            raise ValueError(f"no series: give at least one of {', '.join(CURVE_SERIES)}")
        if len({len(v) for _, v in self.series}) != 1:
            raise ValueError("every series needs one value per epoch (the lists differ in length)")
        return self

    @property
    def series(self) -> tuple[tuple[str, tuple[float, ...]], ...]:
        """(name, values) for the series given, in CURVE_SERIES order."""
        return tuple((name, getattr(self, name)) for name in CURVE_SERIES if getattr(self, name) is not None)

    @property
    def epochs(self) -> int:
        return len(self.series[0][1])

    def get(self, name: str) -> tuple[float, ...] | None:
        return dict(self.series).get(name)


@_item
class QuizQuestion:
    id: Id
    concept: Text
    level: Level
    prompt: Text
    options: Annotated[tuple[Option, ...], Field(min_length=2)]
    explanation: Text
    code: Text | None = None
    output: Text | None = None  # a printout shown as-is (never executed, unlike `code`)
    curves: Curves | None = None

    @field_validator("options")
    @classmethod
    def _one_correct(cls, options: tuple[Option, ...]) -> tuple[Option, ...]:
        n_correct = sum(o.correct for o in options)
        if n_correct != 1:
            raise ValueError(f"a quiz question needs exactly one correct option, found {n_correct}")
        if len({o.text for o in options}) != len(options):
            raise ValueError("two options have the same text")
        return options

    @property
    def correct_index(self) -> int:
        return next(i for i, o in enumerate(self.options) if o.correct)

    @property
    def correct_option(self) -> Option:
        return self.options[self.correct_index]


@_item
class Direction:
    """A comparison the item claims: `low` sides get the small end of the scale, `high` the large."""

    about: Texts
    low: Texts
    high: Texts
    belief: Text  # the misconception named when an answer pairs them the wrong way round


@_item
class Misconception:
    belief: Text  # completes "This sounds like the misconception that ..."
    patterns: Annotated[tuple[Annotated[Text, AfterValidator(_matchable)], ...], Field(min_length=1)]


@_item
class ChecklistItem:
    id: Id
    label: Text
    any_of: Texts
    direction: Direction | None = None
    misconceptions: Annotated[tuple[Misconception, ...], _non_empty("expected at least 1 entry, got 0")] = ()


@_item
class Probe:
    """A short multiple-choice question aimed at one known misconception of a checklist item."""

    id: Id
    item: Id  # the checklist item it probes
    misconception: Text
    question: Text
    options: Annotated[tuple[Option, ...], Field(min_length=3, max_length=4)]

    @field_validator("options")
    @classmethod
    def _one_correct(cls, options: tuple[Option, ...]) -> tuple[Option, ...]:
        if sum(o.correct for o in options) != 1:
            raise ValueError("a probe needs exactly one correct option")
        if len({o.text for o in options}) != len(options):
            raise ValueError("two options have the same text")
        return options

    @property
    def correct_index(self) -> int:
        return next(i for i, o in enumerate(self.options) if o.correct)


@_item
class ExplainPrompt:
    id: Id
    concept: Text
    level: Level
    prompt: Text
    hint: Text
    checklist: Annotated[
        tuple[ChecklistItem, ...], _non_empty("checklist is empty: list the concepts a good answer mentions")
    ]
    # The learner's mark comes from these and the self-check; the text matcher only suggests.
    probes: Annotated[tuple[Probe, ...], Field(min_length=2, max_length=4)]
    model_answer: Text

    @model_validator(mode="after")
    def _probes_name_items(self) -> ExplainPrompt:
        items = {item.id for item in self.checklist}
        unknown = [p.item for p in self.probes if p.item not in items]
        if unknown:
            raise ValueError(f"probe item {unknown[0]!r} is not a checklist item id ({', '.join(sorted(items))})")
        if len({p.id for p in self.probes}) != len(self.probes):
            raise ValueError("two probes have the same id")
        return self


@_item
class Predict:
    question: Text
    options: Annotated[tuple[Text, ...], Field(min_length=2)]
    answer: Index
    reveal: Text

    _answer_in_range = field_validator("answer")(_option_index)

    @property
    def answer_text(self) -> str:
        return self.options[self.answer]


@_item
class DeepDiveStep:
    id: Id
    title: Text
    level: Level
    body: Text
    result: Text
    insight: Text
    predict: Predict | None = None
    concept: Text | None = None


@_item
class Myth:
    id: Id
    belief: Text
    predict_answer: Flag
    reality: Text
    why_it_matters: Text
    concept: Text | None = None


@_item
class Section:
    id: Id
    title: Text
    body: Text
    diagram: Diagram | None = None


@_item
class Pitfall:
    id: Id
    title: Text
    concept: Text
    wrong_code: Text
    correct_code: Text
    root_cause: Text
    lab_preset: LabPreset | None = None
    symptom: Text | None = None


@_item
class Step:
    title: Text
    body: Text


@_item
class PracticeProblem:
    id: Id
    title: Text
    level: Level
    concept: Text
    question: Text
    steps: Annotated[
        tuple[Step, ...], _non_empty("a practice problem needs a step-by-step solution (at least one step)")
    ]
    answer: Text
    quick_check: Text
    common_mistakes: Texts
    code: Text | None = None
    options: Annotated[tuple[Text, ...], Field(min_length=2)] | None = None
    answer_index: Index | None = None

    _answer_index_in_range = field_validator("answer_index")(_option_index)


@_item
class Takeaway:
    id: Id
    text: Text


@_item
class UseCase:
    id: Id
    title: Text
    scratch: Text
    fine_tuned: Text
    body: Text
    scratch_code: Text | None = None
    fine_tuned_code: Text | None = None


@_item
class Figure:
    """A diagram the app draws (`kind`, one of FIGURE_KINDS) placed in one concept or one pitfall."""

    id: Id
    kind: Annotated[Text, _one_of(FIGURE_KINDS, "unknown diagram kind")]
    title: Text
    caption: Text
    alt: Text  # the figure in words, for screen readers and for anyone who cannot see the chart
    concept: Text | None = None
    pitfall: Text | None = None


@_item
class CoverageItem:
    source: Text
    label: Text
    covered_by: Texts


# --------------------------------------------------------------------------------------------
# Files: top-level keys -> lists of items
# --------------------------------------------------------------------------------------------


# file stem -> {top-level key: item model}, in loading order. figures.yaml and coverage.yaml may be
# absent; the optional keys may be missing or empty.
_FILE_ITEMS: dict[str, dict[str, type]] = {
    "concepts": {"concepts": Concept},
    "flashcards": {"cards": Flashcard},
    "quizzes": {"questions": QuizQuestion},
    "explain": {"prompts": ExplainPrompt},
    "deep_dive": {"steps": DeepDiveStep, "myths": Myth, "sections": Section},
    "pitfalls": {"pitfalls": Pitfall},
    "practice": {"problems": PracticeProblem},
    "takeaways": {"takeaways": Takeaway, "use_cases": UseCase},
    "figures": {"figures": Figure},
    "coverage": {"items": CoverageItem},
}
_OPTIONAL_FILES = ("figures", "coverage")
_OPTIONAL_KEYS = ("myths", "sections", "use_cases")


def _file_model(stem: str) -> type:
    def key(name: str, item: type) -> tuple:
        if name in _OPTIONAL_KEYS:  # absent or `myths:` with nothing after it: no items
            return Annotated[tuple[item, ...], BeforeValidator(lambda v: () if v is None else v)], ()
        return tuple[item, ...], ...

    fields = {name: key(name, item) for name, item in _FILE_ITEMS[stem].items()}
    return create_model(f"{stem}.yaml", __base__=_Model, **fields)


_FILES: dict[str, type] = {stem: _file_model(stem) for stem in _FILE_ITEMS}

# attribute name on Lessons -> file stem it lives in (coverage is not an item kind)
KIND_FILES: dict[str, str] = {kind: stem for stem, items in _FILE_ITEMS.items() if stem != "coverage" for kind in items}
# file stem -> the item kinds (Lessons attributes) it holds
FILE_KINDS: dict[str, tuple[str, ...]] = {
    stem: tuple(items) for stem, items in _FILE_ITEMS.items() if stem != "coverage"
}
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
    concepts: tuple[Concept, ...]
    cards: tuple[Flashcard, ...]
    questions: tuple[QuizQuestion, ...]
    prompts: tuple[ExplainPrompt, ...]
    steps: tuple[DeepDiveStep, ...]
    myths: tuple[Myth, ...]
    sections: tuple[Section, ...]
    pitfalls: tuple[Pitfall, ...]
    problems: tuple[PracticeProblem, ...]
    takeaways: tuple[Takeaway, ...]
    use_cases: tuple[UseCase, ...]
    coverage: tuple[CoverageItem, ...]
    figures: tuple[Figure, ...] = ()
    folder: str = ""
    _index: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        index = {kind: {item.id: item for item in getattr(self, kind)} for kind in KIND_FILES}
        object.__setattr__(self, "_index", index)

    # -- lookups -------------------------------------------------------------------------------
    def concept(self, concept_id: str) -> Concept:
        """The concept with this id (KeyError if none)."""
        return self.by_id("concepts", concept_id)

    @property
    def concept_ids(self) -> tuple[str, ...]:
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
        item = self._resolve(ref)
        if item is None:
            raise KeyError(f"reference {ref!r} does not name an existing item")
        return item

    def _resolve(self, ref: str) -> Any:
        if not isinstance(ref, str) or ":" not in ref:
            return None
        stem, _, item_id = ref.partition(":")
        found = (self._index[kind].get(item_id.strip()) for kind in FILE_KINDS.get(stem.strip(), ()))
        return next((item for item in found if item is not None), None)

    def kind_of(self, item: Any) -> str:
        """Lessons attribute name ('cards', 'steps', ...) for an item of this collection."""
        for kind, items in self._index.items():
            if items.get(getattr(item, "id", None)) is item:
                return kind
        raise KeyError("item is not part of these lessons")

    def for_concept(self, concept_id: str) -> dict[str, tuple[Any, ...]]:
        """Everything attached to one concept: cards, questions, prompts, pitfalls, problems,
        steps and myths (the last two only when they name a concept)."""
        self.concept(concept_id)  # KeyError for an unknown id
        return {
            kind: tuple(i for i in getattr(self, kind) if getattr(i, "concept", None) == concept_id)
            for kind in ("cards", "questions", "prompts", "pitfalls", "problems", "steps", "myths")
        }

    def figures_for(self, concept: str | None = None, pitfall: str | None = None) -> tuple[Figure, ...]:
        """Figures placed in one concept or one pitfall, in figures.yaml order."""
        return tuple(
            f for f in self.figures if (concept and f.concept == concept) or (pitfall and f.pitfall == pitfall)
        )

    def at_level(self, kind: str, level: str) -> tuple[Any, ...]:
        """Items of a kind at one level (kinds without a level return nothing)."""
        kind = _KIND_ALIASES.get(kind, kind)
        return tuple(i for i in getattr(self, kind) if getattr(i, "level", None) == level)

    def counts(self) -> dict[str, int]:
        return {kind: len(getattr(self, kind)) for kind in (*KIND_FILES, "coverage")}


# --------------------------------------------------------------------------------------------
# Cross-references: what one item cannot check alone
# --------------------------------------------------------------------------------------------

_Problem = tuple[str, tuple, str]  # (file stem, location in the file, message)


def _reference_problems(lessons: Lessons) -> Iterator[_Problem]:
    yield from _duplicate_ids(lessons)
    concepts = set(lessons.concept_ids)
    for kind, stem in KIND_FILES.items():
        for i, item in enumerate(getattr(lessons, kind)):
            concept = getattr(item, "concept", None)
            if concept is not None and concept not in concepts:
                yield stem, (kind, i, "concept"), f"unknown concept {concept!r} (not an id in concepts.yaml)"
    yield from _figure_places(lessons)
    yield from _coverage_refs(lessons)


def _duplicate_ids(lessons: Lessons) -> Iterator[_Problem]:
    """Ids are unique per file (deep_dive.yaml and takeaways.yaml share one id space across their
    lists), and checklist ids within their prompt."""
    for stem, kinds in FILE_KINDS.items():
        seen: dict[str, str] = {}
        for kind in kinds:
            for i, item in enumerate(getattr(lessons, kind)):
                if item.id in seen:
                    yield stem, (kind, i, "id"), f"duplicate id {item.id!r} (already used by {seen[item.id]})"
                seen.setdefault(item.id, f"{kind}[{i}]")
    for i, prompt in enumerate(lessons.prompts):
        seen = {}
        for j, item in enumerate(prompt.checklist):
            if item.id in seen:
                yield (
                    "explain",
                    ("prompts", i, "checklist", j, "id"),
                    f"duplicate id {item.id!r} (already used by checklist[{seen[item.id]}])",
                )
            seen.setdefault(item.id, str(j))


def _figure_places(lessons: Lessons) -> Iterator[_Problem]:
    pitfalls = {p.id for p in lessons.pitfalls}
    for i, fig in enumerate(lessons.figures):
        if (fig.concept is None) == (fig.pitfall is None):
            yield "figures", ("figures", i, "concept"), "place the figure with exactly one of 'concept' or 'pitfall'"
        elif fig.pitfall is not None and fig.pitfall not in pitfalls:
            yield "figures", ("figures", i, "pitfall"), f"unknown pitfall {fig.pitfall!r} (not an id in pitfalls.yaml)"


def _coverage_refs(lessons: Lessons) -> Iterator[_Problem]:
    for i, item in enumerate(lessons.coverage):
        for ref in item.covered_by:
            stem, loc = ref.partition(":")[0], ("items", i, "covered_by")
            if ":" not in ref:
                yield "coverage", loc, f"bad reference {ref!r}: write '<file>:<id>', e.g. 'quizzes:freeze-meaning'"
            elif stem not in FILE_KINDS:
                yield (
                    "coverage",
                    loc,
                    (f"reference {ref!r} names unknown file {stem!r} (use one of {', '.join(sorted(FILE_KINDS))})"),
                )
            elif lessons._resolve(ref) is None:
                yield "coverage", loc, f"reference {ref!r}: no item with that id in {stem}.yaml"


# --------------------------------------------------------------------------------------------
# Error messages: pydantic's error location -> "<file>: <item>: field '<name>': <what to do>"
# --------------------------------------------------------------------------------------------


def _error(stem: str, raw: Any, loc: tuple, message: str) -> LessonError:
    parts: list = []
    for key in loc:  # ('questions', 0, 'options', 1, 'why') -> questions[0] options[1] why
        if isinstance(key, int) and parts:
            parts[-1] += f"[{key}]"
        else:
            parts.append(str(key))
    if len(loc) >= 2 and isinstance(loc[1], int):
        parts[0] += _item_name(raw, loc[0], loc[1])
    head = [f"{stem}.yaml"]
    if len(loc) == 1:
        head.append(f"top-level key {loc[0]!r}")
    elif len(loc) == 2 and isinstance(loc[1], int):  # the item itself (e.g. not a mapping)
        head.append(parts[0])
    elif parts:
        head += [" ".join(parts[:-1]), f"field {parts[-1]!r}"]
    return LessonError(": ".join(head) + ": " + message)


def _item_name(raw: Any, key: Any, index: int) -> str:
    try:
        item = raw[key][index]
    except (KeyError, IndexError, TypeError):
        return ""
    if isinstance(item, dict) and "id" in item:
        return f" (id {item['id']!r})"
    if isinstance(item, dict) and "label" in item:  # coverage items have no id
        return f" ({item['label']!r})"
    return ""


def _message(model: type, err: dict[str, Any]) -> str:
    """What went wrong, in the words of lessons/SCHEMA.md rather than pydantic's."""
    kind, value, ctx = err["type"], err.get("input"), err.get("ctx") or {}
    if kind == "value_error":
        return str(ctx["error"])
    if kind == "missing":
        return "missing required field"
    if kind in ("extra_forbidden", "unexpected_keyword_argument"):
        return f"unknown field (allowed: {_allowed(model, err['loc'][:-1])})"
    if kind in ("model_type", "dataclass_type", "dataclass_args_type", "dict_type"):
        what = "fields" if err["loc"] else "top-level keys"
        return f"expected a mapping of {what} ({_allowed(model, err['loc'])}), got {_type_name(value)}"
    if kind in ("tuple_type", "list_type"):
        return f"expected a list, got {_type_name(value)}"
    if kind == "too_short":
        n = ctx["min_length"]
        return f"expected at least {n} entr{'y' if n == 1 else 'ies'}, got {ctx['actual_length']}"
    return err["msg"]


def _allowed(model: Any, loc: tuple) -> str:
    """Field names of the model found at `loc` inside `model`."""
    for key in loc:
        if isinstance(key, str):
            model = _inner_model(_fields(model)[key].annotation)
    return ", ".join(sorted(_fields(model)))


def _fields(model: Any) -> dict[str, Any]:
    return model.model_fields if issubclass(model, BaseModel) else model.__pydantic_fields__


def _inner_model(annotation: Any) -> Any:
    if is_pydantic_dataclass(annotation) or (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
        return annotation
    return next((m for m in map(_inner_model, get_args(annotation)) if m is not None), None)


# --------------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------------


def load_lessons(folder: str | Path | None = None) -> Lessons:
    """Load and validate every lesson file in `folder` (default: the repo's lessons/). Cached per
    folder path; call `load_lessons.cache_clear()` after editing files in a running process."""
    return _load_cached(_resolved(str(folder if folder is not None else DEFAULT_FOLDER)))


@functools.lru_cache(maxsize=64)
def _resolved(folder: str) -> str:
    """Every page run asks for the lessons: resolve() costs system calls per path component."""
    return str(Path(folder).resolve())


def _read_yaml(path: Path) -> Any:
    if not path.is_file():
        raise LessonError(f"{path.name}: file missing from lessons folder {path.parent}")
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=_YAML_LOADER)
    except yaml.YAMLError as exc:
        raise LessonError(f"{path.name}: not valid YAML: {exc}") from exc


@functools.lru_cache(maxsize=16)
def _load_cached(folder: str) -> Lessons:
    base = Path(folder)
    if not base.is_dir():
        raise LessonError(f"lessons folder {folder} does not exist")
    raws, files = {}, {}
    for stem, model in _FILES.items():
        path = base / f"{stem}.yaml"
        if stem in _OPTIONAL_FILES and not path.is_file():  # lessons without diagrams stay valid
            continue
        raws[stem] = _read_yaml(path)
        try:
            files[stem] = model.model_validate(raws[stem])
        except ValidationError as exc:
            # An unknown field first: a typo (`bakc:`) also makes the field it meant missing.
            first = min(exc.errors(), key=lambda e: e["type"] not in ("extra_forbidden", "unexpected_keyword_argument"))
            raise _error(stem, raws[stem], first["loc"], _message(model, first)) from None
    items = {kind: getattr(files[stem], kind) for kind, stem in KIND_FILES.items() if stem in files}
    coverage = files["coverage"].items if "coverage" in files else ()
    lessons = Lessons(**items, coverage=coverage, folder=folder)
    for stem, loc, message in _reference_problems(lessons):
        raise _error(stem, raws[stem], loc, message)
    return lessons


load_lessons.cache_clear = _load_cached.cache_clear  # type: ignore[attr-defined]
