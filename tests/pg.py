"""A throwaway PostgreSQL server for tests: Debian's postgresql, started in a temporary folder.

The progress store's tests run against SQLite and PostgreSQL alike, so PostgreSQL must be real
(issue 13). This module runs `initdb` in a fresh temporary folder, starts the server on loopback on
a free port with its Unix socket in that folder (nothing else on the machine is touched or needed),
and removes it all at the end. PostgreSQL refuses to run as root, so as root the server runs as the
`postgres` user that Debian's package creates, in a folder made theirs.

Durability is off (fsync, full-page writes): a test database is thrown away, and on a shared 2-core
machine fsync dominates the time of CREATE DATABASE.

Where PostgreSQL is missing, `missing_reason()` says how to install it; the fixture in conftest.py
fails with that message under CI (CI=true or FTLAB_REQUIRE_POSTGRES=1) and skips with it locally.
"""
from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field

USER, PASSWORD = "ftlab", "ftlab-test-secret"
INSTALL_HINT = ("Install it with `sudo apt-get install postgresql` (Debian/Ubuntu) or "
                "`brew install postgresql` (macOS), or set FTLAB_PG_BIN to the folder holding initdb.")


def required() -> bool:
    """Under CI a missing PostgreSQL is a failure, not a skip."""
    return os.environ.get("CI", "").lower() in ("1", "true", "yes") or \
        os.environ.get("FTLAB_REQUIRE_POSTGRES", "") not in ("", "0")


def bin_dir() -> str | None:
    """The folder holding initdb and pg_ctl: FTLAB_PG_BIN when set (only it), else Debian's newest,
    else the PATH's."""
    chosen = os.environ.get("FTLAB_PG_BIN")
    candidates = [chosen] if chosen else sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version, reverse=True)
    found = shutil.which("initdb")
    if found and not chosen:
        candidates.append(os.path.dirname(found))
    for folder in filter(None, candidates):
        if all(os.access(os.path.join(folder, tool), os.X_OK) for tool in ("initdb", "pg_ctl")):
            return folder
    return None


def _version(folder: str) -> float:
    try:
        return float(folder.split("/")[-2])
    except ValueError:
        return 0.0


def missing_reason() -> str | None:
    """Why a test server cannot start here, or None when it can."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg is not installed: .venv/bin/pip install -r requirements-postgres.txt (requirements-dev.txt includes it)."
    if bin_dir() is None:
        return "PostgreSQL (initdb, pg_ctl) was not found. " + INSTALL_HINT
    if os.geteuid() == 0 and _server_user() is None:
        return "Running as root and there is no `postgres` user to run the server as. " + INSTALL_HINT
    return None


def _server_user() -> pwd.struct_passwd | None:
    try:
        return pwd.getpwnam("postgres")
    except KeyError:
        return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class PgServer:
    """A running throwaway cluster; `url(db)` is what FTLAB_DB would hold."""
    folder: str
    port: int
    bindir: str
    started_in_s: float = 0.0
    _shared_db: str = ""
    _names: itertools.count = field(default_factory=lambda: itertools.count(1))

    def url(self, dbname: str = "postgres", password: str = PASSWORD, schema: str | None = None) -> str:
        """What FTLAB_DB would hold; with `schema`, every connection works in that schema."""
        options = f"?options=-csearch_path%3D{schema}" if schema else ""
        return f"postgresql://{USER}:{password}@127.0.0.1:{self.port}/{dbname}{options}"

    def admin(self, dbname: str = "postgres"):
        import psycopg

        return psycopg.connect(self.url(dbname), autocommit=True)

    def create_database(self) -> str:
        """A fresh empty progress database; returns its URL. It is a schema of its own in one shared
        database: the same isolation for the store's tables, in 10 ms where CREATE DATABASE takes
        0.1 s on an idle machine and 1.5 s on this shared one."""
        if not self._shared_db:
            with self.admin() as conn:
                conn.execute("CREATE DATABASE ftlab_tests")
            self._shared_db = "ftlab_tests"
        name = f"t{os.getpid()}_{next(self._names)}"
        with self.admin(self._shared_db) as conn:
            conn.execute(f"CREATE SCHEMA {name}")
        return self.url(self._shared_db, schema=name)

    def stop(self) -> None:
        _run_as_server(self, [os.path.join(self.bindir, "pg_ctl"), "stop", "-D", self._data, "-m", "fast", "-s"],
                       check=False)
        shutil.rmtree(self.folder, ignore_errors=True)

    @property
    def _data(self) -> str:
        return os.path.join(self.folder, "data")


def _run_as_server(server: PgServer, argv: list[str], check: bool = True) -> subprocess.CompletedProcess:
    if os.geteuid() == 0:  # postgres refuses root: run its tools as the postgres user
        argv = ["runuser", "-u", "postgres", "--", *argv]
    return subprocess.run(argv, check=check, capture_output=True, text=True, timeout=120, cwd=server.folder)


def start() -> PgServer:
    """initdb + start on a free loopback port; raises RuntimeError with the server's log on failure."""
    began = time.perf_counter()
    folder = tempfile.mkdtemp(prefix="ftlab-pg-")
    server = PgServer(folder=folder, port=0, bindir=bin_dir() or "")
    pwfile = os.path.join(folder, "pw")
    with open(pwfile, "w") as f:
        f.write(PASSWORD + "\n")
    if os.geteuid() == 0:
        user = _server_user()
        os.chown(folder, user.pw_uid, user.pw_gid)
        os.chown(pwfile, user.pw_uid, user.pw_gid)
    try:
        # Passwords over TCP (scram), so a test can check what a wrong one says; trust on the socket.
        _run_as_server(server, [os.path.join(server.bindir, "initdb"), "-D", server._data, "-U", USER,
                                f"--pwfile={pwfile}", "--auth-host=scram-sha-256", "--auth-local=trust",
                                "-E", "UTF8", "--locale=C", "--no-sync"])
        _start_server(server)
    except (subprocess.SubprocessError, RuntimeError) as exc:
        log = _read(os.path.join(folder, "log"))
        shutil.rmtree(folder, ignore_errors=True)
        detail = getattr(exc, "stderr", "") or ""
        raise RuntimeError(f"Could not start a test PostgreSQL server: {exc}\n{detail}\n{log}") from exc
    server.started_in_s = time.perf_counter() - began
    return server


def _start_server(server: PgServer) -> None:
    # A free port can be taken between the check and the start: try a few.
    for _ in range(3):
        server.port = _free_port()
        options = (f"-h 127.0.0.1 -p {server.port} -k {server.folder} -c fsync=off "
                   "-c full_page_writes=off -c synchronous_commit=off")
        done = _run_as_server(server, [os.path.join(server.bindir, "pg_ctl"), "start", "-D", server._data,
                                       "-w", "-t", "60", "-s", "-l", os.path.join(server.folder, "log"),
                                       "-o", options], check=False)
        if done.returncode == 0:
            return
    raise RuntimeError(f"pg_ctl start failed: {done.stderr}")


def _read(path: str) -> str:
    try:
        with open(path) as f:
            return f.read()[-4000:]
    except OSError:
        return ""
