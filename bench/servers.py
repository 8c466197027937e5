"""Starting and stopping the app the way the README starts it, for the load benches.

A bench that starts the server with flags of its own measures another server: the file watcher
alone moved the default Lab run from 17.9 s to 35.8 s (.streamlit/config.toml). So the command here
is the README's, `./ftlab app --server.address ...` (what a teacher types for a class), and the only
settings a bench adds are environment variables a teacher may also set: the port
(STREAMLIT_SERVER_PORT, so a bench never collides with a server already on 8501) and the documented
FTLAB_* settings (a temporary progress database, so a bench never writes into a real class's).
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# README, "For teachers": one server for a class.
APP_COMMAND = ["./ftlab", "app", "--server.address", "0.0.0.0"]
# `./ftlab app` checks the install first (seconds when in place, minutes on a first install).
HEALTH_TIMEOUT_S = 600


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def load_average() -> str:
    """The 1, 5 and 15 minute load averages: figures taken on a busy machine must say so."""
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def vm_kb(pid: int, field_name: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_seconds(pid: int) -> float:
    """CPU time the process has used (user + system): is the web server itself the bottleneck?"""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return 0.0


def start_app(port: int, env: dict, log_path: Path, address: str = "0.0.0.0") -> subprocess.Popen:
    """`./ftlab app --server.address ADDRESS` on PORT with these extra environment variables."""
    full = dict(os.environ, STREAMLIT_SERVER_PORT=str(port), PYTHONUNBUFFERED="1", **env)
    # A server has no display: without one Streamlit runs headless and opens no browser window.
    full.pop("DISPLAY", None)
    full.pop("WAYLAND_DISPLAY", None)
    cmd = APP_COMMAND[:-1] + [address]
    return subprocess.Popen(cmd, cwd=ROOT, env=full, stdout=open(log_path, "w"), stderr=subprocess.STDOUT,
                            start_new_session=True)


def wait_healthy(port: int, proc: subprocess.Popen, log_path: Path | None = None,
                 timeout: float = HEALTH_TIMEOUT_S) -> float:
    """Seconds until /_stcore/health answers; a clear error (with the log's tail) otherwise."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if proc.poll() is not None:
            tail = log_path.read_text()[-2000:] if log_path else ""
            raise RuntimeError(f"the app server exited during start-up (status {proc.returncode}):\n{tail}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=5) as r:
                if r.status == 200:
                    return time.monotonic() - t0
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"the app server on port {port} was not healthy within {timeout:.0f} s")


def stop(proc: subprocess.Popen, grace_s: float = 20) -> None:
    """SIGTERM to the server's whole process group (its workers too), SIGKILL if it lingers."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(grace_s)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
    except ProcessLookupError:
        pass


def git_commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
        return out.stdout.strip() or "unknown"
    except OSError:
        return "unknown"
