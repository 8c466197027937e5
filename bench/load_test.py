"""Load test: a classroom on one server. 30 learners browse lessons and answer quiz questions while
4 of them start a Lab run at the same moment (CPU).

How (honest version): the real app runs as `streamlit run app.py` (headless, on a free loopback port,
FTLAB_DB in a temporary folder). Each simulated learner is a real Streamlit session: it opens the
app's websocket (`/_stcore/stream`) and speaks the browser's protocol (BackMsg/ForwardMsg protobufs)
the way the frontend does: it asks for a page by its URL path, and answers widgets by sending their
ids and values (nickname text box, quiz radio, buttons). So every page run, SQLite write and Lab job
happens inside the server process, with its one ProgressStore and one JobManager (cache_resource).
What is not simulated: the browser's rendering and JavaScript; a "page response" is the time from
the rerun request to the server's `script_finished` message.

Checks: every session's page runs finish without an exception element; every quiz answer the
learners submitted is a row in the server's SQLite file; all 4 Lab jobs queue and finish (their
outcome message appears on the page). Reported: sessions, page runs, quiz answers, jobs, errors,
peak memory (server VmHWM, and this client), slowest page response.

    python -m bench.load_test [--sessions 30] [--jobs 4] [--answers 3] [--timeout 480]

The last line is a JSON summary; the exit status is 0 when every check passed.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LESSON_PAGES = ["", "concepts", "deep_dive", "pitfalls", "flashcards", "practice", "explain", "progress"]
LAB_QUERY = "dataset=faces&size=32&per_class=4&val_per_class=10&epochs=1&train=head&seed={seed}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def vm_kb(pid: int, field_name: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


# ---- one browser session over the websocket -------------------------------------------------------

@dataclass
class RunView:
    page: str
    seconds: float
    status: int
    widgets: list = field(default_factory=list)  # (kind, proto)
    alerts: list = field(default_factory=list)  # (format name, text)
    exceptions: list = field(default_factory=list)

    def widget(self, kind: str, label_start: str):
        for k, proto in self.widgets:
            if k == kind and proto.label.startswith(label_start):
                return proto
        return None


class Session:
    def __init__(self, port: int, name: str, stats: "Stats"):
        self.url = f"ws://127.0.0.1:{port}/_stcore/stream"
        self.name, self.stats = name, stats
        self.ws = None
        self.learner_id: str | None = None

    async def __aenter__(self):
        import websockets

        self.ws = await asyncio.wait_for(
            websockets.connect(self.url, subprotocols=["streamlit"], max_size=None, open_timeout=60), 90)
        return self

    async def __aexit__(self, *exc):
        await self.ws.close()

    async def run(self, page: str, query: str = "", widgets: list | None = None, timeout: float = 240) -> RunView:
        """Rerun the script on `page` with these widget states; read until the run has finished."""
        from streamlit.proto.BackMsg_pb2 import BackMsg
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
        from streamlit.proto.WidgetStates_pb2 import WidgetState

        msg = BackMsg()
        msg.rerun_script.query_string = query
        msg.rerun_script.page_name = page
        states = list(widgets or [])
        if self.learner_id:
            states.append(("string_value", self.learner_id, self.name))
        for kind, wid, value in states:
            w = WidgetState(id=wid)
            setattr(w, kind, value)
            msg.rerun_script.widget_states.widgets.append(w)
        t0 = time.perf_counter()
        await self.ws.send(msg.SerializeToString())
        view = RunView(page or "home", 0.0, -1)
        deadline = time.monotonic() + timeout
        while True:
            raw = await asyncio.wait_for(self.ws.recv(), max(1.0, deadline - time.monotonic()))
            fm = ForwardMsg()
            fm.ParseFromString(raw)
            kind = fm.WhichOneof("type")
            if kind == "delta" and fm.delta.WhichOneof("type") == "new_element":
                el = fm.delta.new_element
                etype = el.WhichOneof("type")
                if etype == "exception":
                    view.exceptions.append(f"{el.exception.type}: {el.exception.message}")
                elif etype == "alert":
                    view.alerts.append((el.alert.Format.Name(el.alert.format), el.alert.body))
                elif etype in ("radio", "button", "text_input"):
                    view.widgets.append((etype, getattr(el, etype)))
            elif kind == "script_finished":
                status = fm.script_finished
                if status == ForwardMsg.FINISHED_EARLY_FOR_RERUN:  # st.rerun(): the server goes on
                    view.widgets, view.alerts = [], []
                    continue
                if status == ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY:
                    continue
                view.status = status
                break
        view.seconds = time.perf_counter() - t0
        self.stats.record(self.name, view)
        if self.learner_id is None:
            box = view.widget("text_input", "Your nickname")
            if box is not None:
                self.learner_id = box.id
        return view


@dataclass
class Stats:
    page_runs: list = field(default_factory=list)  # (seconds, page, session)
    errors: list = field(default_factory=list)
    answers_submitted: int = 0
    jobs_started: int = 0
    jobs_outcomes: dict = field(default_factory=dict)

    def record(self, session: str, view: RunView) -> None:
        self.page_runs.append((view.seconds, view.page, session))
        for e in view.exceptions:
            self.errors.append(f"{session} {view.page}: {e}")
        if view.status != 0:
            self.errors.append(f"{session} {view.page}: script ended with status {view.status}")


# ---- what one learner does ------------------------------------------------------------------------

async def learner(port: int, i: int, stats: Stats, answers: int, start_gate: asyncio.Event | None) -> None:
    name = f"load{i:02d}"
    async with Session(port, name, stats) as s:
        await s.run("")  # home: also discovers the nickname box
        await s.run("", widgets=[])  # now with the nickname sent
        if start_gate is not None:  # a lab learner: open the lab with a tiny shared-link setup
            await lab_run(s, i, stats, start_gate)
            return
        for page in (LESSON_PAGES[1 + i % 7], LESSON_PAGES[1 + (i + 3) % 7]):
            await s.run(page)
        view = await s.run("quiz")
        for _ in range(answers):
            radio = view.widget("radio", "Your answer")
            check = view.widget("button", "Check my answer")
            if radio is None or check is None:
                stats.errors.append(f"{name}: no quiz question on the page")
                return
            view = await s.run("quiz", widgets=[("string_value", radio.id, radio.options[i % len(radio.options)]),
                                                ("trigger_value", check.id, True)])
            if not any(a[1].startswith(("**Correct!**", "**Not quite.**")) for a in view.alerts):
                stats.errors.append(f"{name}: no feedback after an answer")
                return
            stats.answers_submitted += 1
            nxt = view.widget("button", "Next question") or view.widget("button", "See my score")
            if nxt is None:
                stats.errors.append(f"{name}: no next button")
                return
            view = await s.run("quiz", widgets=[("trigger_value", nxt.id, True)])
        await s.run("progress")


async def lab_run(s: Session, i: int, stats: Stats, start_gate: asyncio.Event) -> None:
    query = LAB_QUERY.format(seed=i)
    view = await s.run("lab", query=query)
    start = view.widget("button", "Start training")
    if start is None:
        stats.errors.append(f"{s.name}: no Start button on the lab page ({view.alerts})")
        return
    await start_gate.wait()  # every lab learner presses Start at the same moment
    view = await s.run("lab", query=query, widgets=[("trigger_value", start.id, True)])
    stats.jobs_started += 1
    deadline = time.monotonic() + 420
    while time.monotonic() < deadline:
        outcome = [a for a in view.alerts if a[0] in ("SUCCESS", "ERROR") or "Stopped" in a[1]]
        if outcome:
            stats.jobs_outcomes[s.name] = outcome[0]
            return
        await asyncio.sleep(3)  # the browser's live panel ticks every second; a full rerun every 3 s
        view = await s.run("lab", query=query)
    stats.jobs_outcomes[s.name] = ("TIMEOUT", "no outcome within 420 s")


# ---- the whole test -------------------------------------------------------------------------------

def start_server(port: int, db: str, log_path: Path) -> subprocess.Popen:
    env = dict(os.environ, FTLAB_DB=db, PYTHONUNBUFFERED="1")
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
           "--server.address", "127.0.0.1", "--server.port", str(port), "--browser.gatherUsageStats", "false"]
    # The watcher settings come from .streamlit/config.toml, as for a user's `./ftlab app`.
    return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=open(log_path, "w"), stderr=subprocess.STDOUT,
                            start_new_session=True)


def wait_healthy(port: int, proc: subprocess.Popen, timeout: float = 120) -> float:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if proc.poll() is not None:
            raise RuntimeError("the server exited during start-up")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=5) as r:
                if r.status == 200:
                    return time.monotonic() - t0
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"the server was not healthy within {timeout} s")


async def classroom(port: int, sessions: int, jobs: int, answers: int, timeout: float, stats: Stats) -> None:
    gate = asyncio.Event()
    tasks = [asyncio.create_task(learner(port, i, stats, answers, gate if i < jobs else None))
             for i in range(sessions)]

    async def open_gate():
        # Press Start once every lab learner has its page (bounded), while the others browse.
        t0 = time.monotonic()
        while time.monotonic() - t0 < 180:
            ready = sum(1 for sec, page, who in stats.page_runs if page == "lab")
            if ready >= jobs:
                break
            await asyncio.sleep(0.2)
        gate.set()

    gate_task = asyncio.create_task(open_gate())
    done, pending = await asyncio.wait(tasks, timeout=timeout)
    gate_task.cancel()
    for t in pending:
        t.cancel()
        stats.errors.append("a session did not finish within the time limit")
    for t in done:
        if t.exception() is not None:
            stats.errors.append(f"session failed: {type(t.exception()).__name__}: {t.exception()}")


def count_rows(db: str, table: str) -> int:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(f"SELECT COUNT(*) FROM {table} WHERE learner LIKE 'load%'").fetchone()[0]
    finally:
        conn.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Classroom load test of the Streamlit app.")
    parser.add_argument("--sessions", type=int, default=30)
    parser.add_argument("--jobs", type=int, default=4, help="learners (among the sessions) who start a Lab run")
    parser.add_argument("--answers", type=int, default=3, help="quiz answers per browsing learner")
    parser.add_argument("--timeout", type=float, default=480, help="bound on the classroom phase, seconds")
    args = parser.parse_args(argv)

    stats = Stats()
    with tempfile.TemporaryDirectory(prefix="ftlab-load-") as tmp:
        db = os.path.join(tmp, "progress.sqlite3")
        port = free_port()
        log_path = Path(tmp) / "server.log"
        proc = start_server(port, db, log_path)
        peak_server_kb = 0
        try:
            startup = wait_healthy(port, proc)
            print(f"server up on 127.0.0.1:{port} in {startup:.1f} s (pid {proc.pid}); FTLAB_DB={db}")
            t0 = time.perf_counter()
            asyncio.run(classroom(port, args.sessions, args.jobs, args.answers, args.timeout, stats))
            wall = time.perf_counter() - t0
            peak_server_kb = vm_kb(proc.pid, "VmHWM")
            server_alive = proc.poll() is None
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        answers_in_db = count_rows(db, "quiz_answers")
        server_log = log_path.read_text()[-3000:]

    browsing = args.sessions - args.jobs
    expected_answers = browsing * args.answers
    finished_jobs = sum(1 for fmt, text in stats.jobs_outcomes.values() if fmt == "SUCCESS")
    times = sorted(t for t, _, _ in stats.page_runs)
    slowest = max(stats.page_runs, default=(0, "", ""))
    slowest_non_lab = max((r for r in stats.page_runs if r[1] != "lab"), default=(0, "", ""))
    checks = {
        "no_session_errors": not stats.errors,
        "all_answers_recorded": stats.answers_submitted == expected_answers == answers_in_db,
        "all_jobs_finished": stats.jobs_started == args.jobs == finished_jobs,
        "server_alive": server_alive,
    }
    print(f"sessions: {args.sessions} ({browsing} browsing + quiz, {args.jobs} in the Lab), "
          f"page runs: {len(times)} in {wall:.0f} s")
    print(f"quiz answers: {stats.answers_submitted} submitted, {answers_in_db} rows in SQLite "
          f"(expected {expected_answers})")
    for who, (fmt, text) in sorted(stats.jobs_outcomes.items()):
        print(f"job of {who}: {fmt}: {text[:100]}")
    if times:
        print(f"page response: median {statistics.median(times):.2f} s, p95 {times[int(0.95 * (len(times) - 1))]:.2f} s, "
              f"slowest {slowest[0]:.2f} s ({slowest[1]} of {slowest[2]}); slowest lesson page "
              f"{slowest_non_lab[0]:.2f} s ({slowest_non_lab[1]})")
    by_page: dict[str, float] = {}
    for sec, page, _ in stats.page_runs:
        by_page[page] = max(by_page.get(page, 0.0), sec)
    print("slowest run per page: " + ", ".join(f"{p} {t:.1f} s" for p, t in sorted(by_page.items())))
    print(f"peak memory: server {peak_server_kb / 1024:.0f} MB (VmHWM), load client "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    for e in stats.errors[:20]:
        print("ERROR", e)
    if not all(checks.values()):
        print("server log tail:\n" + server_log)
    summary = {
        "ok": all(checks.values()), "checks": checks, "sessions": args.sessions, "lab_sessions": args.jobs,
        "page_runs": len(times), "wall_s": round(wall, 1), "errors": len(stats.errors),
        "quiz_answers_submitted": stats.answers_submitted, "quiz_answers_in_db": answers_in_db,
        "jobs_started": stats.jobs_started, "jobs_finished": finished_jobs,
        "peak_rss_server_mb": round(peak_server_kb / 1024),
        "peak_rss_client_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "slowest_page_s": round(slowest[0], 2), "slowest_page": slowest[1],
        "slowest_lesson_page_s": round(slowest_non_lab[0], 2),
        "slowest_by_page_s": {p: round(t, 2) for p, t in sorted(by_page.items())},
        "median_page_s": round(statistics.median(times), 2) if times else None,
        "method": "real server (streamlit run) + websocket sessions speaking the browser protocol",
    }
    print(json.dumps(summary))
    return 0 if summary["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
