"""Two app servers behind one PostgreSQL and one Ray head: what a school's set-up must guarantee.

Why: with several app servers behind a load balancer, a learner can land on another server (a
server restarted, the balancer rebalanced); their nickname and answers must be there, and a job
must finish whichever server took it. Issue 13, item 5, second scenario.

What runs, all real and all on loopback, stopped at the end:
- PostgreSQL: Debian's `postgresql`, started by tests/pg.py exactly as the progress store's test
  fixture starts it (initdb in a temporary folder, a free port; as root, as the `postgres` user);
- a local Ray head, started as tests/test_ray.py starts it (`ray start --head --block` with its own
  temp dir and free ports, no dashboard);
- two app servers, each `./ftlab app --server.address 127.0.0.1` (bench/servers.py) on its own
  port, both with FTLAB_DB=postgresql://... and FTLAB_RAY_ADDRESS=127.0.0.1:PORT.

Then, at once: learner A takes a nickname and answers quiz questions on server 1, learner B on
server 2; one Lab learner on each server presses Start (the load test's tiny setup). Checks: the
same browsers, opened on the OTHER server, are under their nicknames and their Progress page
counts exactly the answers they gave (right and total); both jobs finish, as Ray actors of that
head (counted under its raylet); no errors.

    python -m bench.two_servers [--answers 3]

The last line is JSON; the exit status is 0 when every check passed.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import servers
from bench.browser_session import Tab
from bench.load_test import LAB_QUERY, Stats, answer_quiz, claim_nickname, job_finished, lab_learner

RAY_START_S = 180  # `ray start` took 32 s on this 2-core machine while others worked (tests/test_ray.py)


# ---- PostgreSQL and Ray --------------------------------------------------------------------------

def start_postgres():
    """(server, URL of a fresh database) from tests/pg.py, or a RuntimeError saying what is missing."""
    try:
        from tests import pg
    except ImportError as exc:
        raise RuntimeError(f"tests/pg.py (the PostgreSQL test server) is missing in this checkout: {exc}")
    reason = pg.missing_reason()
    if reason:
        raise RuntimeError(reason)
    server = pg.start()
    with server.admin() as conn:
        conn.execute("CREATE DATABASE ftlab_two_servers")
    return server, server.url("ftlab_two_servers")


def _ray_answers(port: int) -> bool:
    import socket

    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


def start_ray_head(temp_dir: str) -> tuple[subprocess.Popen, str]:
    """A local Ray head on loopback, as tests/test_ray.py starts it; returns (process, address)."""
    ray_bin = Path(sys.executable).with_name("ray")
    if not ray_bin.exists():
        raise RuntimeError("Ray is not installed: pip install -r requirements-cluster.txt")
    port = servers.free_port()
    ports = {f"--{name}": str(servers.free_port()) for name in (
        "ray-client-server-port", "dashboard-port", "dashboard-agent-listen-port",
        "dashboard-agent-grpc-port", "metrics-export-port", "runtime-env-agent-port")}
    cmd = [str(ray_bin), "start", "--head", "--node-ip-address=127.0.0.1", f"--port={port}",
           f"--num-cpus={os.cpu_count() or 2}", "--num-gpus=0", "--include-dashboard=false",
           f"--temp-dir={temp_dir}", "--disable-usage-stats", "--block",
           *[x for kv in ports.items() for x in kv]]
    head = subprocess.Popen(cmd, stdout=open(Path(temp_dir) / "head.log", "w"), stderr=subprocess.STDOUT,
                            start_new_session=True, env={**os.environ, "RAY_USAGE_STATS_ENABLED": "0"})
    deadline = time.monotonic() + RAY_START_S
    while not _ray_answers(port):
        if head.poll() is not None or time.monotonic() > deadline:
            stop_ray_head(head, temp_dir)
            raise RuntimeError(f"the Ray head did not start (exit code {head.poll()})")
        time.sleep(1)
    return head, f"127.0.0.1:{port}"


def stop_ray_head(head: subprocess.Popen, temp_dir: str) -> None:
    """The head's process group, then any Ray process still naming its temp dir (its workers)."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(head.pid, sig)
        except ProcessLookupError:
            pass
        for pid in _processes_naming(temp_dir):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        time.sleep(2)
    head.wait(10)


def ray_trainers(temp_dir: str) -> int:
    """Ray actor processes ("ray::Trainer...", core/jobs/ray_pool.py) under this head's raylet: proof that
    the servers' jobs ran on the cluster, not in local worker processes. Other Ray heads on the
    machine (other tests) have raylets of their own, so their actors are not counted."""
    raylets = {pid for pid in _processes_naming(temp_dir) if b"raylet" in _cmdline(pid)}
    count = 0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and _cmdline(int(entry.name)).startswith(b"ray::Trainer"):
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            count += ppid in raylets
    return count


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _processes_naming(text: str) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                if text.encode() in (entry / "cmdline").read_bytes():
                    pids.append(int(entry.name))
            except OSError:
                pass
    return pids


# ---- the scenario --------------------------------------------------------------------------------

async def learner_on_both(urls: list[str], name: str, i: int, answers: int, stats: Stats, checks: dict) -> None:
    """Answer on urls[0]; then the same browser on urls[1] must be under its name with those answers."""
    bid = secrets.token_urlsafe(18)
    async with Tab(urls[0], bid, on_view=stats.recorder(name)) as tab:
        if not await claim_nickname(tab, name, stats):
            return
        await answer_quiz(tab, name, i, answers, stats)
    async with Tab(urls[1], bid, on_view=stats.recorder(name + "@other")) as tab:
        view = await tab.run("progress")
    expected = f"{stats.correct.get(name, 0)} / {stats.answered.get(name, 0)}"
    shown = view.metrics.get("Quiz answers right")
    named = any(name in text and "saved under this name" in text for text in view.markdown)
    checks[f"{name}: nickname known on the other server"] = named
    checks[f"{name}: answers shown on the other server ({shown} of expected {expected})"] = shown == expected


async def scenario(urls: list[str], answers: int, stats: Stats, checks: dict) -> None:
    gate = asyncio.Event()

    async def lab(url: str, i: int) -> None:
        name = f"lab{i}"
        async with Tab(url, secrets.token_urlsafe(18), on_view=stats.recorder(name)) as tab:
            if await claim_nickname(tab, name, stats):
                await lab_learner(tab, name, LAB_QUERY.format(seed=i), gate, stats)
            stats.errors.extend(f"{name} (live panel): {e}" for e in tab.fragment_errors)

    async def open_gate():
        while sum(1 for r in stats.page_runs if r[1] == "lab") < 2:
            await asyncio.sleep(0.2)
        gate.set()

    tasks = [learner_on_both(urls, "twoA", 0, answers, stats, checks),
             learner_on_both(urls[::-1], "twoB", 1, answers, stats, checks),
             lab(urls[0], 1), lab(urls[1], 2)]
    gate_task = asyncio.create_task(open_gate())
    results = await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 900)
    gate_task.cancel()
    stats.errors.extend(f"{type(r).__name__}: {r}" for r in results if isinstance(r, BaseException))


def run(answers: int, tmp: Path) -> tuple[Stats, dict, dict]:
    stats, checks, info = Stats(), {}, {"load_start": servers.load_average()}
    pg_server, url = start_postgres()
    procs, head, ray_tmp = [], None, tempfile.mkdtemp(prefix="ftlab-ray-")
    try:
        head, ray_address = start_ray_head(ray_tmp)
        env = {"FTLAB_DB": url, "FTLAB_RAY_ADDRESS": ray_address}
        ports = [servers.free_port(), servers.free_port()]
        for n, port in enumerate(ports):
            procs.append(servers.start_app(port, env, tmp / f"server{n + 1}.log", address="127.0.0.1"))
        for port, proc, n in zip(ports, procs, (1, 2)):
            servers.wait_healthy(port, proc, tmp / f"server{n}.log")
        print(f"PostgreSQL on 127.0.0.1:{pg_server.port}, Ray head on {ray_address}, "
              f"app servers on ports {ports[0]} and {ports[1]}")
        asyncio.run(scenario([f"http://127.0.0.1:{p}" for p in ports], answers, stats, checks))
        info["servers_alive"] = all(p.poll() is None for p in procs)
        info["ray_trainers"] = ray_trainers(ray_tmp)
    finally:
        for proc in procs:
            servers.stop(proc)
        if head is not None:
            stop_ray_head(head, ray_tmp)
        shutil.rmtree(ray_tmp, ignore_errors=True)
        pg_server.stop()
    info["load_end"] = servers.load_average()
    info["logs"] = {n: (tmp / f"server{n}.log").read_text()[-1500:] for n in (1, 2)}
    return stats, checks, info


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Two app servers sharing PostgreSQL and a Ray head.")
    parser.add_argument("--answers", type=int, default=3, help="quiz answers per learner")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="ftlab-two-") as tmp:
        try:
            stats, checks, info = run(args.answers, Path(tmp))
        except RuntimeError as exc:
            print(f"FAIL  could not set up the scenario: {exc}")
            print(json.dumps({"ok": False, "error": str(exc)}))
            return 1
    finished = sum(1 for outcome in stats.outcomes.values() if job_finished(outcome))
    checks["jobs from both servers finished"] = stats.jobs_started == 2 == finished
    checks["no errors"] = not stats.errors
    checks["both servers alive"] = info["servers_alive"]
    checks[f"jobs ran on the Ray head ({info['ray_trainers']} Trainer actors under its raylet)"] = \
        info["ray_trainers"] >= 1
    for who, (fmt, text) in sorted(stats.outcomes.items()):
        print(f"job of {who}: {fmt}: {text[:90]}")
    for label, ok in checks.items():
        print(f"{'PASS' if ok else 'FAIL'}  {label}")
    for e in stats.errors[:20]:
        print("ERROR", e)
    ok = all(checks.values())
    if not ok:
        for n, tail in info["logs"].items():
            print(f"--- server {n} log (tail) ---\n{tail}")
    print(json.dumps({"ok": ok, "checks": checks, "errors": len(stats.errors), "jobs_finished": finished,
                      "ray_trainers": info["ray_trainers"],
                      "load_start": info["load_start"], "load_end": info["load_end"],
                      "commit": servers.git_commit()}))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
