"""The server's resident memory after the upload attacks of issue 22, through a real browser.

For each attack, a fresh server is started as the README starts it (`./ftlab app`, a free port, its
own data folder), a Chromium tab (Playwright, /usr/bin/chromium) opens the Lab, picks "Your own
images" and uploads the zip; the RSS of the server process (serve.py) is read before the upload,
sampled every 0.2 s while the page answers (peak), when it has answered, and 30 s after the tab is
closed. `--root` measures another checkout (an older commit) with this same script:

    .venv/bin/python -m bench.upload_memory                       # this checkout
    .venv/bin/python -m bench.upload_memory --root /tmp/base      # e.g. a worktree of the base commit

Attacks: `bits`: 16 one-bit PNGs of 512x78,000 px (6 KB each, 120 MB each decoded as RGB);
`wide`: 6 wide RGB PNGs of 512x78,000 px.
"""
from __future__ import annotations

import argparse
import io
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
ANSWER_TIMEOUT_MS = 20 * 60 * 1000  # the old code decodes for minutes on a busy machine
STRIP = (512, 78_000)


def _png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def bits_zip() -> bytes:
    strip = _png(Image.new("1", STRIP))
    return _zip({f"{c}/{i}.png": strip for c in ("cats", "dogs") for i in range(8)})


def wide_zip() -> bytes:
    w, h = STRIP
    arr = np.empty((h, w, 3), np.uint8)
    arr[:, :, 0] = (np.arange(w) % 256)[None, :]
    arr[:, :, 1] = ((np.arange(h) // 64) % 256)[:, None]
    arr[:, :, 2] = 128
    strip = _png(Image.fromarray(arr))
    return _zip({f"{c}/{i}.png": strip for c in ("cats", "dogs") for i in range(3)})


ATTACKS = {"bits": bits_zip, "wide": wide_zip}


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Server:
    """`./ftlab app` in `root` on a free port; its process is serve.py (ftlab execs it)."""

    def __init__(self, root: Path, data_dir: Path):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        env = dict(os.environ, FTLAB_VENV=sys.prefix, FTLAB_DATA_DIR=str(data_dir),
                   FTLAB_DB=str(data_dir / "progress.sqlite3"), PYTHONUNBUFFERED="1")
        self.log = open(data_dir / "server.log", "w")
        cmd = ["./ftlab", "app", "--server.headless", "true", "--server.port", str(self.port),
               "--server.address", "127.0.0.1"]
        self.proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 600
        while not self._healthy():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"server did not start: see {data_dir / 'server.log'}")
            time.sleep(0.5)

    def _healthy(self) -> bool:
        try:
            with urllib.request.urlopen(self.url + "/_stcore/health", timeout=5) as r:
                return r.read().strip() == b"ok"
        except OSError:
            return False

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self.log.close()


class PeakSampler(threading.Thread):
    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.peak, self.stop = pid, 0.0, threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.2):
            self.peak = max(self.peak, rss_mb(self.pid))


def measure(browser, root: Path, name: str, content: bytes) -> dict:
    from playwright.sync_api import expect

    from tests.e2e.helpers import choose, key, wait_idle

    with tempfile.TemporaryDirectory(prefix="ftlab-upload-bench-") as tmp:
        server = Server(root, Path(tmp))
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=server.url)
            context.set_default_timeout(ANSWER_TIMEOUT_MS)
            page = context.new_page()
            page.goto("/lab", wait_until="domcontentloaded")
            expect(key(page, "lab_dataset")).to_be_visible(timeout=600_000)  # a busy machine's first Lab
            wait_idle(page, timeout_ms=600_000)
            choose(page, "lab_dataset", "Your own images (zip of class folders)")
            expect(key(page, "lab_upload")).to_be_visible(timeout=300_000)
            wait_idle(page)
            pid = server.proc.pid
            row = {"attack": name, "zip_kb": len(content) / 1024, "before_mb": rss_mb(pid)}
            sampler = PeakSampler(pid)
            sampler.start()
            t = time.monotonic()
            key(page, "lab_upload").locator('input[type="file"]').set_input_files(
                files=[{"name": f"{name}.zip", "mimeType": "application/zip", "buffer": content}])
            answer = page.locator('[data-testid="stAlert"]').filter(has_text="Could not use this zip").or_(
                page.get_by_text("images in 2 classes"))
            expect(answer.first).to_be_visible(timeout=ANSWER_TIMEOUT_MS)
            wait_idle(page, timeout_ms=ANSWER_TIMEOUT_MS)
            row["answer_s"] = time.monotonic() - t
            row["answer"] = answer.first.inner_text().strip().replace("\n", " ")[:160]
            row["after_mb"] = rss_mb(pid)
            context.close()
            time.sleep(30)
            sampler.stop.set()
            row["peak_mb"] = sampler.peak
            row["tab_closed_30s_mb"] = rss_mb(pid)
            return row
        finally:
            server.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout whose ./ftlab app is measured")
    parser.add_argument("--attack", choices=sorted(ATTACKS), action="append", help="default: all")
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    rows = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            for name in args.attack or sorted(ATTACKS):
                rows.append(measure(browser, args.root.resolve(), name, ATTACKS[name]()))
                print(rows[-1], flush=True)
        finally:
            browser.close()
    print(f"\nserver RSS (MB), {args.root.resolve()}")
    print(f"{'attack':6} {'zip KB':>7} {'before':>7} {'peak':>7} {'answered':>8} {'tab gone 30s':>12} {'time s':>7}  answer")
    for r in rows:
        print(f"{r['attack']:6} {r['zip_kb']:7.0f} {r['before_mb']:7.0f} {r['peak_mb']:7.0f} {r['after_mb']:8.0f} "
              f"{r['tab_closed_30s_mb']:12.0f} {r['answer_s']:7.1f}  {r['answer']}")


if __name__ == "__main__":
    main()
