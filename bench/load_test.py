"""Load test: a classroom on one server. 30 learners take a nickname, browse lessons and answer quiz
questions while 4 of them press Start in the Lab at the same moment (the issue's tiny setup: faces
at 32 px, 4 images per class, 1 epoch, head only; `--lab-defaults` for the Lab's default run).

How: the app is started as the README starts it for a class (`./ftlab app --server.address 0.0.0.0`,
bench/servers.py: its own config, no extra flags; a free port and a temporary FTLAB_DB through the
environment). Each learner is a simulated browser tab (bench/browser_session.py) speaking the
frontend's websocket protocol, with the browser-id cookie and the frontend's fragment timers, so the
Lab's live panel ticks as in a tab. Everything runs in the server: page runs, database writes, jobs.

Reported against the targets of issue 13 (PASS/FAIL per line): lesson page response median and p95
(every page run but the Lab's), every Lab page run (opening it, pressing Start, the outcome rerun),
the live chart update interval while a job trains (time between two chart redraws reaching the tab,
from its first "epoch" progress to the end of its job), errors (exceptions on a page or in a
fragment, failed runs, closed connections), jobs finished, answers stored (read back through
ProgressStore). Also the load average at start and end: on a shared machine the figures move with it.

    python -m bench.load_test [--sessions 30] [--jobs 4] [--answers 3] [--lab-defaults] [--timeout 600]

The last line is JSON; the exit status is 0 when every target is met.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import resource
import secrets
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench import servers
from bench.browser_session import RunView, Tab

# The setup of issue 13's measurement: every Lab learner has a seed of its own.
LAB_QUERY = "dataset=faces&size=32&per_class=4&val_per_class=10&epochs=1&train=head&seed={seed}"
LESSON_PAGES = ["", "concepts", "deep_dive", "pitfalls", "flashcards", "practice", "explain", "progress"]
OUTCOME_FORMATS = ("SUCCESS", "ERROR")
# A job that ran all its epochs: "finished N epochs: ..." (success), or "about chance: ..." (an error
# box, but the run finished; core.runs.analysis.run_verdict). Not: could not start, diverged, stopped.
FINISHED = ("finished ", "about chance")


def job_finished(outcome: tuple[str, str]) -> bool:
    fmt, text = outcome
    return fmt in OUTCOME_FORMATS and text.startswith(FINISHED)
LAB_WAIT_S = 540  # a queued job waits for up to three others (the default run: 18-300 s each here)
# Issue 13, item 5: (label, key in the figures, limit, "max" = the figure must not exceed the limit).
TARGETS = (
    ("lesson pages median (s)", "lesson_median_s", 1.5),
    ("lesson pages p95 (s)", "lesson_p95_s", 4.0),
    ("slowest Lab page (s)", "lab_max_s", 10.0),
    ("live chart update interval, longest (s)", "chart_gap_max_s", 2.0),
    ("errors", "errors", 0),
)


def p95(values: list[float]) -> float:
    """Nearest rank: the smallest value with at least 95% of the values at or below it."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)] if ordered else 0.0


@dataclass
class Stats:
    page_runs: list = field(default_factory=list)  # (seconds, page, learner, started by the server)
    errors: list = field(default_factory=list)
    answered: dict = field(default_factory=dict)  # learner -> answers submitted
    correct: dict = field(default_factory=dict)  # learner -> answers the page called correct
    jobs_started: int = 0
    outcomes: dict = field(default_factory=dict)  # learner -> (format, text)
    chart_gaps: dict = field(default_factory=dict)  # learner -> [seconds between chart redraws]

    def recorder(self, learner: str):
        def record(view: RunView) -> None:
            self.page_runs.append((view.seconds, view.page, learner, view.server_started))
            self.errors.extend(f"{learner} {view.page}: {e}" for e in view.exceptions)
            if view.status != 0:
                self.errors.append(f"{learner} {view.page}: script ended with status {view.status}")
        return record


# ---- what one learner does ------------------------------------------------------------------------

async def claim_nickname(tab: Tab, name: str, stats: Stats) -> bool:
    """Type a nickname in the sidebar form and submit it, as a learner does on arrival."""
    view = await tab.run("")
    box = view.widget("text_input", "Nickname")
    submit = view.widget("button", "Keep my answers under this name")
    if box is None or submit is None:
        stats.errors.append(f"{name}: no nickname form in the sidebar")
        return False
    view = await tab.run("", widgets=[("string_value", box.id, name), ("trigger_value", submit.id, True)])
    if not any(fmt == "SUCCESS" and name in body for fmt, body in view.alerts):
        stats.errors.append(f"{name}: the nickname was not taken ({view.alerts[:2]})")
        return False
    return True


async def answer_quiz(tab: Tab, name: str, i: int, answers: int, stats: Stats) -> None:
    view = await tab.run("quiz")
    for q in range(answers):
        radio, check = view.widget("radio", "Your answer"), view.widget("button", "Check my answer")
        if radio is None or check is None:
            stats.errors.append(f"{name}: no quiz question on the page")
            return
        choice = radio.options[(i + q) % len(radio.options)]  # some right, some wrong
        view = await tab.run("quiz", widgets=[("string_value", radio.id, choice),
                                              ("trigger_value", check.id, True)])
        if not any(body.startswith(("**Correct!**", "**Not quite.**")) for _, body in view.alerts):
            stats.errors.append(f"{name}: no feedback after an answer")
            return
        stats.answered[name] = stats.answered.get(name, 0) + 1
        right = any(body.startswith("**Correct!**") for _, body in view.alerts)
        stats.correct[name] = stats.correct.get(name, 0) + right
        nxt = view.widget("button", "Next question") or view.widget("button", "See my score")
        if nxt is None:
            stats.errors.append(f"{name}: no next button")
            return
        view = await tab.run("quiz", widgets=[("trigger_value", nxt.id, True)])


async def browsing_learner(tab: Tab, name: str, i: int, answers: int, stats: Stats) -> None:
    for page in (LESSON_PAGES[1 + i % 7], LESSON_PAGES[1 + (i + 3) % 7]):
        await tab.run(page)
    await answer_quiz(tab, name, i, answers, stats)
    await tab.run("progress")


def chart_gaps(tab: Tab, job_end: float, started: float) -> list[float]:
    """Seconds between chart redraws while the job ran (its first progress bar to its end; a queued
    job shows its place in line instead). A job no tick saw training (the tiny setup can train in
    less than a tick) trained between two ticks: the learner's wait without a redraw is then from the
    last tick before its end (or the Start click's page run, `started`) to the end."""
    training = [t.at for t in tab.fragment_ticks if t.progress]
    if not training:
        return [job_end - max([t.at for t in tab.fragment_ticks if started <= t.at <= job_end] + [started])]
    drawn = [t.at for t in tab.fragment_ticks if t.charts and training[0] <= t.at <= job_end]
    return [b - a for a, b in zip([training[0]] + drawn, drawn + [job_end])]


async def lab_learner(tab: Tab, name: str, query: str, gate: asyncio.Event, stats: Stats) -> None:
    view = await tab.run("lab", query=query)
    start = view.widget("button", "Start training")
    if start is None:
        stats.errors.append(f"{name}: no Start button on the Lab page ({view.alerts[:2]})")
        return
    await gate.wait()  # every Lab learner presses Start at the same moment
    view = await tab.run("lab", query=query, widgets=[("trigger_value", start.id, True)])
    started = time.perf_counter()
    stats.jobs_started += 1
    deadline = time.monotonic() + LAB_WAIT_S
    # The tab now only ticks its fragments; the server reruns the page itself when the job ends.
    while not (outcome := [a for a in view.alerts if a[0] in OUTCOME_FORMATS or "Stopped" in a[1]]):
        if time.monotonic() > deadline:
            stats.outcomes[name] = ("TIMEOUT", f"no outcome within {LAB_WAIT_S} s")
            return
        view = await tab.next_full_run(max(1.0, deadline - time.monotonic()))
    job_end = time.perf_counter() - view.seconds  # when the server began the outcome rerun
    stats.outcomes[name] = outcome[0]
    stats.chart_gaps[name] = chart_gaps(tab, job_end, started)


async def learner(url: str, i: int, jobs: int, args, gate: asyncio.Event, stats: Stats) -> None:
    name = f"load{i:02d}"
    async with Tab(url, secrets.token_urlsafe(18), on_view=stats.recorder(name)) as tab:
        if await claim_nickname(tab, name, stats):
            if i < jobs:
                await lab_learner(tab, name, "" if args.lab_defaults else LAB_QUERY.format(seed=i), gate, stats)
            else:
                await browsing_learner(tab, name, i, args.answers, stats)
        stats.errors.extend(f"{name} (live panel): {e}" for e in tab.fragment_errors)
        if tab.closed_reason:
            stats.errors.append(f"{name}: connection closed: {tab.closed_reason}")


async def classroom(url: str, args, stats: Stats) -> None:
    gate = asyncio.Event()
    tasks = [asyncio.create_task(learner(url, i, args.jobs, args, gate, stats)) for i in range(args.sessions)]

    async def open_gate():
        # Press Start once every Lab learner has its page (bounded), while the others browse.
        t0 = time.monotonic()
        while time.monotonic() - t0 < 180 and sum(1 for r in stats.page_runs if r[1] == "lab") < args.jobs:
            await asyncio.sleep(0.2)
        gate.set()

    gate_task = asyncio.create_task(open_gate())
    done, pending = await asyncio.wait(tasks, timeout=args.timeout)
    gate_task.cancel()
    for t in pending:
        t.cancel()
        stats.errors.append("a session did not finish within the time limit")
    for t in done:
        if t.exception() is not None:
            stats.errors.append(f"session failed: {type(t.exception()).__name__}: {t.exception()}")


# ---- checks and report ----------------------------------------------------------------------------

def stored_answers(db: str, learners) -> int:
    """Quiz answers the progress store holds for these learners (read through the app's own store)."""
    from core.classroom.progress import ProgressStore

    store = ProgressStore(db)
    return sum(len(store.answer_history(name)) for name in learners)


def figures(stats: Stats, args, answers_in_db: int) -> dict:
    lesson = [r[0] for r in stats.page_runs if r[1] != "lab"]
    lab = [r[0] for r in stats.page_runs if r[1] == "lab"]
    gaps = [g for gs in stats.chart_gaps.values() for g in gs]
    finished = sum(1 for outcome in stats.outcomes.values() if job_finished(outcome))
    return {
        "lesson_median_s": round(statistics.median(lesson), 2) if lesson else None,
        "lesson_p95_s": round(p95(lesson), 2), "lesson_max_s": round(max(lesson, default=0), 2),
        "lab_max_s": round(max(lab, default=0), 2), "lab_runs_s": [round(t, 2) for t in lab],
        "chart_gap_max_s": round(max(gaps), 2) if gaps else None,
        "chart_gap_p95_s": round(p95(gaps), 2) if gaps else None,
        "chart_gap_median_s": round(statistics.median(gaps), 2) if gaps else None,
        "chart_redraws_measured": len(gaps),
        "errors": len(stats.errors), "jobs_started": stats.jobs_started, "jobs_finished": finished,
        "answers_submitted": sum(stats.answered.values()), "answers_stored": answers_in_db,
        "answers_expected": (args.sessions - args.jobs) * args.answers,
    }


def verdicts(fig: dict, args) -> list[tuple[str, str, bool]]:
    """(label, measured, passed) for each target of the issue."""
    rows = [(label, str(fig[key]), fig[key] is not None and fig[key] <= limit) for label, key, limit in TARGETS]
    rows.append(("jobs finished", f"{fig['jobs_finished']} of {args.jobs}",
                 fig["jobs_started"] == fig["jobs_finished"] == args.jobs))
    rows.append(("answers stored", f"{fig['answers_stored']} of {fig['answers_expected']}",
                 fig["answers_submitted"] == fig["answers_stored"] == fig["answers_expected"]))
    return rows


def report(stats: Stats, args, fig: dict, extra: dict) -> dict:
    print(f"sessions: {args.sessions} ({args.sessions - args.jobs} browsing + quiz, {args.jobs} in the Lab), "
          f"page runs: {len(stats.page_runs)} in {extra['wall_s']:.0f} s; load average "
          f"{extra['load_start']} at start, {extra['load_end']} at end ({extra['cores']} cores); the web "
          f"server used {extra['server_cpu_s']} s of CPU")
    for who, (fmt, text) in sorted(stats.outcomes.items()):
        print(f"job of {who}: {fmt}: {text[:90]}")
    print("Lab page runs (s): " + ", ".join(f"{t:.1f}" for t in fig["lab_runs_s"]))
    print(f"chart redraws while training: {fig['chart_redraws_measured']}, interval median "
          f"{fig['chart_gap_median_s']} s, p95 {fig['chart_gap_p95_s']} s")
    rows = verdicts(fig, args)
    limits = {label: limit for label, _, limit in TARGETS}
    for label, measured, ok in rows:
        target = f"<= {limits[label]}" if label in limits else "all"
        print(f"{'PASS' if ok else 'FAIL'}  {label}: {measured} (target {target})")
    for e in stats.errors[:20]:
        print("ERROR", e)
    summary = {"ok": all(ok for _, _, ok in rows), "checks": {label: ok for label, _, ok in rows},
               "sessions": args.sessions, "lab_sessions": args.jobs, **fig, **extra,
               "method": "`./ftlab app` + simulated tabs speaking the browser's websocket protocol "
                         "(bench/browser_session.py)"}
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Classroom load test of the app, started as the README starts it.")
    parser.add_argument("--sessions", type=int, default=30)
    parser.add_argument("--jobs", type=int, default=4, help="learners (among the sessions) who press Start")
    parser.add_argument("--answers", type=int, default=3, help="quiz answers per browsing learner")
    parser.add_argument("--lab-defaults", action="store_true", help="press Start on the Lab's defaults "
                        "(MNIST, 8 epochs) instead of the issue's tiny setup")
    parser.add_argument("--timeout", type=float, default=600, help="bound on the classroom phase, seconds")
    args = parser.parse_args(argv)

    stats = Stats()
    with tempfile.TemporaryDirectory(prefix="ftlab-load-") as tmp:
        db, port, log_path = str(Path(tmp) / "progress.sqlite3"), servers.free_port(), Path(tmp) / "server.log"
        load_start = servers.load_average()
        proc = servers.start_app(port, {"FTLAB_DB": db}, log_path)
        try:
            startup = servers.wait_healthy(port, proc, log_path)
            print(f"`{' '.join(servers.APP_COMMAND)}` up on port {port} in {startup:.1f} s (pid {proc.pid})")
            t0 = time.perf_counter()
            asyncio.run(classroom(f"http://127.0.0.1:{port}", args, stats))
            wall = time.perf_counter() - t0
            peak_kb, alive = servers.vm_kb(proc.pid, "VmHWM"), proc.poll() is None
            server_cpu = servers.cpu_seconds(proc.pid)
        finally:
            servers.stop(proc)
        if not alive:
            stats.errors.append("the server died during the test")
        answers_in_db = stored_answers(db, stats.answered)
        log_tail = log_path.read_text()[-3000:]
    fig = figures(stats, args, answers_in_db)
    extra = {"wall_s": round(wall, 1), "load_start": load_start, "load_end": servers.load_average(),
             "cores": len(os.sched_getaffinity(0)), "commit": servers.git_commit(),
             "peak_rss_server_mb": round(peak_kb / 1024), "server_cpu_s": round(server_cpu, 1),
             "peak_rss_client_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}
    summary = report(stats, args, fig, extra)
    if not summary["ok"] and stats.errors:
        print("server log tail:\n" + log_tail)
    print(json.dumps(summary))
    return 0 if summary["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
