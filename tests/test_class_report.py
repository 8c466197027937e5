"""The teacher's class report (core/class_report.py) and the class-wide reads of the progress store,
on a real SQLite store in a temporary folder."""
import csv
import io
from dataclasses import replace

import pytest

from core.classroom import class_report as cr
from core.classroom.identity import anonymous_key, new_browser_id
from core.classroom.progress import ProgressStore
from core.content.lessons import load_lessons
from core.jobs.manager import JobSnapshot
from core.lab.presets import PRESETS
from core.train.events import EpochEnded
from tests.helpers import record_marked


@pytest.fixture(scope="module")
def lessons():
    return load_lessons()


@pytest.fixture
def store(progress_db):
    """The class report runs on both backends: a school's app servers share PostgreSQL."""
    return ProgressStore(progress_db)


def history_row(cfg, label="", run_id="j1", val_acc=0.5):
    """A Lab history row exactly as the Lab stores it (core.runs.history.history_row)."""
    from core.runs.history import history_row as lab_row

    epoch = EpochEnded(epoch=1, epochs=cfg.epochs, train_loss=0.9, train_acc=0.6, val_loss=1.0, val_acc=val_acc,
                       trainable_params=1, total_params=2, trainable_groups=("head",), weight_change={},
                       lrs={}, elapsed=1.0, images_per_s=1.0)
    snap = JobSnapshot(run_id, "owner", label, "batch", cfg, "finished", None, None, [], [epoch], None, "", "",
                       1.0, 2.0, 5.0)
    return lab_row(snap, 1)


def test_quiz_outcomes_keep_first_and_latest_answer_per_learner(store, lessons):
    q = lessons.questions[0].id
    store.record_quiz_answer("ada", q, "a", False)
    store.record_quiz_answer("ada", q, "b", False)
    store.record_quiz_answer("ada", q, "c", True)
    store.record_quiz_answer("bob", q, "c", True)
    store.record_quiz_answer("bob", q, "a", False)
    got = {o["learner"]: o for o in store.class_quiz_outcomes()}
    assert got["ada"] == {"learner": "ada", "question_id": q, "answers": 3, "wrong": 2,
                          "first_correct": False, "last_correct": True}
    assert got["bob"] == {"learner": "bob", "question_id": q, "answers": 2, "wrong": 1,
                          "first_correct": True, "last_correct": False}


def test_questions_most_missed_first_and_unknown_ids_left_out(store, lessons):
    easy, hard, middle = (q.id for q in lessons.questions[:3])
    for learner in ("ada", "bob", "cy"):
        store.record_quiz_answer(learner, easy, "x", True)
        store.record_quiz_answer(learner, hard, "x", False)
    store.record_quiz_answer("ada", hard, "x", True)  # ada got it right on the second try
    store.record_quiz_answer("ada", middle, "x", False)
    store.record_quiz_answer("bob", middle, "x", True)
    store.record_quiz_answer("ada", "a-question-since-removed", "x", False)

    report = cr.build_class_report(store, lessons)
    assert [r.question_id for r in report.questions] == [hard, middle, easy]
    top = report.questions[0]
    assert (top.learners, top.missed_first_try, top.still_wrong, top.answers, top.wrong_answers) == (3, 3, 2, 4, 3)
    assert top.miss_rate == 1.0 and report.questions[1].miss_rate == 0.5 and report.questions[2].miss_rate == 0
    assert top.question == lessons.questions[1].prompt.splitlines()[0][:cr.LABEL_MAX]
    assert report.unanswered_questions == len(lessons.questions) - 3


def test_explain_marks_count_each_learners_best_marked_attempt(store, lessons):
    hard, easy = lessons.prompts[0].id, lessons.prompts[1].id
    record_marked(store, "ada", hard, 1, 4, "first try")
    record_marked(store, "ada", hard, 3, 4, "better")
    record_marked(store, "ada", hard, 2, 4, "worse again")
    record_marked(store, "bob", hard, 0, 4, "nothing")
    record_marked(store, "bob", easy, 5, 5, "all of it")
    store.start_explain("cy", easy, "written, probes not answered", 3, 4)  # no mark yet: in no mean
    report = cr.build_class_report(store, lessons)
    first, second = report.prompts
    assert first.prompt_id == hard and (first.learners, first.attempts, first.mastered) == (2, 4, 0)
    assert first.mean_best_mark == pytest.approx((3 / 4 + 0) / 2)
    assert second.prompt_id == easy and second.mean_best_mark == 1.0 and second.mastered == 1
    assert (second.learners, second.attempts) == (1, 1)


def _keyword_attempt(store, learner, prompt_id, found, total):
    """An attempt as the app stored it before the probes (the column default marks it keyword)."""
    store._write("INSERT INTO explain_attempts (learner, prompt_id, found, total, answer, ts) VALUES (?,?,?,?,?,?)",
                 (learner, prompt_id, found, total, "old answer", 1.0))


def test_keyword_scores_from_before_the_probes_stay_out_of_the_mean(store, lessons):
    old, both = lessons.prompts[0].id, lessons.prompts[1].id
    _keyword_attempt(store, "ada", old, 4, 4)
    _keyword_attempt(store, "ada", both, 4, 4)
    record_marked(store, "bob", both, 1, 4, "new")
    rows = {r.prompt_id: r for r in cr.build_class_report(store, lessons).prompts}
    assert (rows[old].mean_best_mark, rows[old].learners, rows[old].keyword_scored) == (None, 0, 1)
    assert (rows[both].mean_best_mark, rows[both].keyword_scored) == (0.25, 1)


def test_answers_of_a_prompt_for_the_teacher_with_marks_and_reviews(store, lessons):
    pid = lessons.prompts[0].id
    _keyword_attempt(store, "ada", pid, 2, 4)
    attempt = store.start_explain("ada", pid, "new words", 3, 4)
    store.mark_explain("ada", attempt, 2, 3)
    store.review_explain(attempt, "partly", "Name the layers.")
    new, old = cr.answer_rows(store, pid)
    assert (new.attempt_id, new.learner, new.answer, new.mark) == (attempt, "ada", "new words", "5 of 7 (probes 2 of 3)")
    assert (new.review_mark, new.review_comment) == ("partly", "Name the layers.")
    assert old.mark == "2 of 4 by keyword matching (before probes)" and old.review_mark is None


def test_learners_by_nickname_or_numbered_anonymous_never_by_browser(store, lessons):
    q = lessons.questions[0].id
    early, late, named = new_browser_id(), new_browser_id(), new_browser_id()
    store.record_quiz_answer(anonymous_key(early), q, "x", False)
    store.record_quiz_answer(anonymous_key(late), q, "x", True)
    store.record_quiz_answer(anonymous_key(named), q, "x", True)
    store.claim_name(named, "ada_lovelace")  # her anonymous answers move to the nickname

    report = cr.build_class_report(store, lessons)
    assert sorted(r.learner for r in report.learners) == ["ada_lovelace", "anonymous #1", "anonymous #2"]
    labels = cr.learner_labels(store.class_activity())
    assert labels[anonymous_key(early)] == "anonymous #1" and labels[anonymous_key(late)] == "anonymous #2"
    everything = repr(report) + "".join(cr.to_csv(n, rows) for n, rows in (
        ("learners", report.learners), ("questions", report.questions), ("runs", report.lab_runs)))
    for bid in (early, late, named):
        assert bid not in everything and anonymous_key(bid) not in everything
        assert anonymous_key(bid).split(":")[1][:12] not in everything


def test_activity_spans_every_progress_table(store, lessons):
    store.mark_done("ada", "concept", lessons.concepts[0].id)
    store.set_card_status("bob", lessons.cards[0].id, True)
    store.record_lab_run("cy", history_row(PRESETS["head-only"].config))
    assert set(store.class_activity()) == {"ada", "bob", "cy"}
    first, last = store.class_activity()["ada"]
    assert 0 < first <= last


def test_lab_runs_say_which_demo_or_preset_was_run(store, lessons):
    demo = PRESETS["lr-too-high"]
    (high_label, high_cfg), (low_label, low_cfg) = demo.runs
    store.record_lab_run("ada", history_row(high_cfg, high_label, "d1"))
    store.record_lab_run("ada", history_row(low_cfg, low_label, "d2"))
    store.record_lab_run("bob", history_row(PRESETS["head-only"].config, run_id="s1"))
    store.record_lab_run("bob", history_row(replace(PRESETS["head-only"].config, lr=0.02), run_id="s2"))
    store.record_lab_run("cy", history_row(PRESETS["gradual-unfreeze"].config, run_id="s3"))

    report = cr.build_class_report(store, lessons)
    ran = [(r.learner, r.ran, r.run) for r in reversed(report.lab_runs)]  # stored order
    assert ran == [("ada", f"demo: {demo.title}", high_label), ("ada", f"demo: {demo.title}", low_label),
                   ("bob", f"preset: {PRESETS['head-only'].title}", "run 1"), ("bob", cr.OWN_SETTINGS, "run 1"),
                   ("cy", f"preset: {PRESETS['gradual-unfreeze'].title}", "run 1")]
    assert report.lab_summary[0] == (f"demo: {demo.title}", ["ada"], 2)
    assert report.lab_runs[0].val_acc == 0.5


def test_a_run_stopped_early_still_matches_its_preset():
    row = history_row(PRESETS["discriminative-lr"].config)
    row["epochs"] = "2/8"
    assert cr.what_ran(row) == f"preset: {PRESETS['discriminative-lr'].title}"
    assert cr.what_ran({"label": "run 1"}) == cr.OWN_SETTINGS  # a row from an older version


def test_a_preset_run_with_another_schedule_is_own_settings_and_old_rows_ran_constant():
    cfg = PRESETS["head-only"].config
    assert cr.what_ran(history_row(replace(cfg, schedule="cosine"))) == cr.OWN_SETTINGS
    row = history_row(cfg)
    assert row["schedule"] == "constant"
    del row["schedule"]  # stored before schedules existed: those runs had a constant rate
    assert cr.what_ran(row) == f"preset: {PRESETS['head-only'].title}"


def test_demo_variant_labels_name_one_demo_each():
    labels = [label for p in PRESETS.values() if p.demo for label, _ in p.runs]
    assert len(labels) == len(set(labels)) == len(cr.demo_of_label())
    assert not any(label.startswith("run ") for label in labels)  # single runs are "run n"


def test_csv_has_a_header_and_defuses_spreadsheet_formulas(store, lessons):
    store.record_quiz_answer("-ada", lessons.questions[0].id, "x", False)
    report = cr.build_class_report(store, lessons)
    rows = list(csv.DictReader(io.StringIO(cr.to_csv("learners", report.learners))))
    assert rows[0]["learner"] == "'-ada" and rows[0]["quiz_answers"] == "1" and rows[0]["quiz_right"] == "0"
    questions = list(csv.DictReader(io.StringIO(cr.to_csv("questions", report.questions))))
    assert questions[0]["question_id"] == lessons.questions[0].id and questions[0]["missed_first_try"] == "1"
    assert cr.to_csv("lab runs", report.lab_runs) == "no lab runs yet\n"


def test_an_empty_store_gives_an_empty_report(store, lessons):
    report = cr.build_class_report(store, lessons)
    assert report.learners == report.questions == report.prompts == report.lab_runs == ()
    assert report.unanswered_questions == len(lessons.questions)


def test_long_labels_are_cut_outside_code_spans():
    text = "A model " + "with many words " * 4 + "and `model.parameters()` handed to the optimizer, then more words"
    cut = cr.short_label(text + "\nsecond line")
    assert cut.endswith("…") and len(cut) <= cr.LABEL_MAX and cut.count("`") % 2 == 0
    assert cr.short_label("short one\nsecond") == "short one" and cr.short_label("") == ""


def test_csv_cells_are_whole_plain_and_rounded(store, lessons):
    """A spreadsheet gets the whole question, no Markdown marks, and shares to four places."""
    long_q = next(q for q in lessons.questions if len(q.prompt) > cr.LABEL_MAX or "`" in q.prompt or "*" in q.prompt)
    store.record_quiz_answer("ada", long_q.id, "x", False)
    store.record_lab_run("ada", {"id": "r1", "label": "run 1", "status": "finished", "val_acc": 0.8733333349227905})
    report = cr.build_class_report(store, lessons)
    question = list(csv.DictReader(io.StringIO(cr.to_csv("questions", report.questions))))[0]["question"]
    assert question == cr.plain(long_q.prompt) and "…" not in question
    assert "**" not in question and "`" not in question
    run = list(csv.DictReader(io.StringIO(cr.to_csv("lab runs", report.lab_runs))))[0]
    assert run["val_acc"] == "0.8733"
    assert cr.plain("Use **two** `model.eval()` calls, *then* 2*3") == "Use two model.eval() calls, then 2*3"
