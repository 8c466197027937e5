"""docs/nginx-ftlab.conf for real: Debian's nginx with a self-signed certificate in front of two app
servers, and a learner's browser passing through it.

Two app servers on one host share one SQLite file (FTLAB_DB): SQLite's WAL and busy timeout serve
several processes on one machine; servers on several machines share PostgreSQL instead (README, set-up
4), which changes nothing that nginx sees. nginx runs unprivileged in a temporary prefix (its own pid,
logs and temp folders, free ports); its access log records which server each request went to.
"""
from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import HEALTH_TIMEOUT_S, ROOT, _free_port, _health
from tests.e2e.helpers import click_button, key, open_page

pytestmark = [pytest.mark.browser, pytest.mark.nginx]

NGINX = os.environ.get("FTLAB_NGINX", "/usr/sbin/nginx")
COOKIE = "ftlab_browser"  # what the first test sends; the app names it __Host-ftlab_browser behind TLS
HOST_COOKIE = "__Host-ftlab_browser"
LOG_FORMAT = "'$ftlab_sticky|$upstream_addr|$request|$status'"  # the id nginx routed by


def _require_nginx() -> None:
    """Skip (locally) or fail (CI, where ./ftlab test installs them) when nginx or openssl is missing."""
    missing = [name for name, path in (("nginx", NGINX), ("openssl", shutil.which("openssl")))
               if not path or not os.path.exists(path)]
    if missing:
        problem = f"{' and '.join(missing)} not found (apt-get install -y nginx openssl, or run ./ftlab test)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"the nginx test must run on CI, but {problem}", pytrace=False)
        pytest.skip(problem)


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


@pytest.fixture(scope="module")
def app_servers(tmp_path_factory):
    """Two app servers started as the README does (`./ftlab app`), one progress database between them."""
    _require_nginx()
    tmp = tmp_path_factory.mktemp("ftlab-two")
    env = dict(os.environ, FTLAB_DB=str(tmp / "progress.sqlite3"), FTLAB_DATA_DIR=str(tmp / "data"),
               FTLAB_VENV=sys.prefix, PYTHONUNBUFFERED="1")
    procs, ports = [], [_free_port(), _free_port()]
    try:
        for n, port in enumerate(ports):
            log = open(tmp / f"app{n}.log", "w")
            procs.append(subprocess.Popen(
                ["./ftlab", "app", "--server.headless", "true", "--server.port", str(port),
                 "--server.address", "127.0.0.1"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True))
            log.close()
        deadline = time.monotonic() + HEALTH_TIMEOUT_S
        for n, (proc, port) in enumerate(zip(procs, ports)):
            while _health(f"http://127.0.0.1:{port}") != "ok":
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"app server {n} did not start:\n{(tmp / f'app{n}.log').read_text()[-3000:]}")
                time.sleep(0.5)
        yield ports
    finally:
        for proc in procs:
            _stop(proc)


def _certificate(folder: Path) -> tuple[Path, Path]:
    cert, key_file = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key_file), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)
    return cert, key_file


def _replace(text: str, old: str, new: str) -> str:
    assert old in text, f"docs/nginx-ftlab.conf no longer has {old!r}: update this test with it"
    return text.replace(old, new)


def site_config(app_ports: list[int], https_port: int, http_port: int, cert: Path, key_file: Path) -> str:
    """docs/nginx-ftlab.conf with only its addresses, ports and certificate paths made local."""
    conf = (ROOT / "docs" / "nginx-ftlab.conf").read_text()
    servers = "".join(f"    server 127.0.0.1:{p};\n" for p in app_ports)
    conf, n = re.subn(r"(?m)^(    server \S+:\d+;\n)+", servers, conf)
    assert n == 1, "docs/nginx-ftlab.conf should list its app servers in one upstream block"
    conf = _replace(conf, "listen 443 ssl;", f"listen 127.0.0.1:{https_port} ssl;")
    conf = _replace(conf, "listen 80;", f"listen 127.0.0.1:{http_port};")
    conf = _replace(conf, "/etc/ssl/ftlab/fullchain.pem", str(cert))
    return _replace(conf, "/etc/ssl/ftlab/privkey.pem", str(key_file))


@pytest.fixture(scope="module")
def proxy(app_servers, tmp_path_factory):
    """nginx with a fresh self-signed certificate in front of both servers: (https URL, http URL,
    certificate, access log)."""
    tmp = tmp_path_factory.mktemp("nginx")
    cert, key_file = _certificate(tmp)
    https_port, http_port = _free_port(), _free_port()
    (tmp / "ftlab.conf").write_text(site_config(app_servers, https_port, http_port, cert, key_file))
    temp_dirs = "\n".join(f"  {name}_temp_path {tmp}/{name};" for name in
                          ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    (tmp / "nginx.conf").write_text(
        f"pid {tmp}/nginx.pid;\nerror_log {tmp}/error.log;\nevents {{ worker_connections 256; }}\n"
        f"http {{\n  log_format upstream {LOG_FORMAT};\n  access_log {tmp}/access.log upstream;\n"
        f"{temp_dirs}\n  include {tmp}/ftlab.conf;\n}}\n")
    cmd = [NGINX, "-p", str(tmp), "-c", str(tmp / "nginx.conf"), "-e", str(tmp / "error.log")]
    check = subprocess.run(cmd + ["-t"], capture_output=True, text=True, timeout=30)
    assert check.returncode == 0, check.stderr
    proc = subprocess.Popen(cmd + ["-g", "daemon off;"], stderr=subprocess.PIPE, start_new_session=True)
    url = f"https://127.0.0.1:{https_port}"
    try:
        deadline = time.monotonic() + 30
        while _status(url + "/_stcore/health", cert) != 200:
            assert proc.poll() is None and time.monotonic() < deadline, (tmp / "error.log").read_text()
            time.sleep(0.2)
        yield url, f"http://127.0.0.1:{http_port}", cert, tmp / "access.log"
    finally:
        _stop(proc)


def _status(url: str, cert: Path, cookie: str | None = None) -> int:
    """The HTTP status of a GET, the certificate checked against the test's own (so TLS is real)."""
    request = urllib.request.Request(url, headers={"Cookie": f"{COOKIE}={cookie}"} if cookie else {})
    try:
        with urllib.request.urlopen(request, timeout=10, context=ssl.create_default_context(cafile=str(cert))) as r:
            return r.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0


def routes(access_log: Path) -> list[tuple[str, str, str, str]]:
    """(cookie, upstream server, request line, status) of every request nginx has logged."""
    return [tuple(line.split("|")) for line in access_log.read_text().splitlines()]


def upstreams_of(access_log: Path, cookie: str, path: str = "") -> set[str]:
    return {up for c, up, request, _ in routes(access_log) if c == cookie and path in request}


def test_each_browser_cookie_sticks_to_one_server_and_cookies_spread_over_both(proxy, app_servers):
    url, _, cert, access_log = proxy
    cookies = [secrets.token_urlsafe(18) for _ in range(16)]  # ids like the app's (24 characters)
    for cookie in cookies + cookies:
        assert _status(url + "/", cert, cookie) == 200
    chosen = {cookie: upstreams_of(access_log, cookie) for cookie in cookies}
    assert all(len(servers) == 1 for servers in chosen.values()), chosen
    # 16 random ids all on one of two servers: once in 2**15 runs.
    assert set().union(*chosen.values()) == {f"127.0.0.1:{p}" for p in app_servers}


def test_plain_http_is_redirected_to_https(proxy):
    _, http_url, _, _ = proxy
    request = urllib.request.Request(http_url + "/quiz?question=3", method="GET")
    opener = urllib.request.build_opener(type("NoRedirect", (urllib.request.HTTPRedirectHandler,),
                                              {"redirect_request": lambda *args: None}))
    with pytest.raises(urllib.error.HTTPError) as info:
        opener.open(request, timeout=10)
    assert info.value.code == 301
    assert info.value.headers["Location"].startswith("https://") and info.value.headers["Location"].endswith(
        "/quiz?question=3")


def _cookie_value(context) -> str | None:
    return next((c["value"] for c in context.cookies() if c["name"] == HOST_COOKIE), None)


def test_a_learner_works_through_tls_and_a_reload_lands_on_the_same_server(proxy, browser):
    url, _, _, access_log = proxy
    context = browser.new_context(ignore_https_errors=True, base_url=url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(60_000)
    try:
        page = context.new_page()
        open_page(page, "/flashcards", "Card 1 of")  # drawn by the app over its websocket
        assert page.url.startswith("https://")
        click_button(page, "card_flip")
        expect(key(page, "card_flip")).to_contain_text("Hide answer")  # the button's rerun came back
        deadline = time.monotonic() + 30
        while (cookie := _cookie_value(context)) is None:  # set with the first page's HTML
            assert time.monotonic() < deadline, "the app never set its browser cookie"
            time.sleep(0.2)
        jar = {c["name"]: c for c in context.cookies()}
        assert jar[HOST_COOKIE]["secure"] and jar[HOST_COOKIE]["httpOnly"], "behind TLS: Secure and HttpOnly"
        assert COOKIE not in jar  # the plain-named one is never set over TLS
        page.reload()
        open_page(page, "/flashcards", "Card 1 of")
        click_button(page, "card_flip")
        expect(key(page, "card_flip")).to_contain_text("Hide answer")
    finally:
        context.close()
    # A websocket is logged when it closes: wait for the reload's to appear.
    deadline = time.monotonic() + 30
    while not any(status == "101" for c, _, request, status in routes(access_log)
                  if c == cookie and "/_stcore/stream" in request):
        assert time.monotonic() < deadline, "no websocket through nginx with the learner's cookie"
        time.sleep(0.5)
    assert len(upstreams_of(access_log, cookie)) == 1, routes(access_log)
