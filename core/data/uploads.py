"""A learner's own images: a zip of class folders read into memory within limits one learner cannot
push the class server past.

Each limit is checked from the image headers before any pixel is decoded: pixels per image, decoded
pixels per upload (the decode's CPU time), kept bytes per upload, and one server-wide memory budget
shared by every session's uploads. Decoding runs in a thread (`UploadJob`) that stops between images
when the learner moves on (another zip, another dataset, the tab closed).
"""
from __future__ import annotations

import ctypes
import hashlib
import logging
import shutil
import threading
import uuid
import warnings
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
from PIL import Image

from core import settings
from core.data.datasets import RawDataset, check_classes
from core.data.imagefiles import (IMAGE_FORMATS, MAX_PIXELS, DataError, decoded_size, kept_size, read_image,
                                  safe_extract_zip, scan_class_folders)

__all__ = ["UploadBudget", "UploadCancelled", "UploadJob", "UploadSlot", "folder_dataset", "read_upload", "server_budget"]

log = logging.getLogger(__name__)

MAX_SHORT_SIDE = 512  # prepare() never needs more: a 12-megapixel phone photo is kept at 512 px
MAX_UPLOAD_PIXELS = 500_000_000  # decoded pixels per upload: bounds the decode to seconds of one core
MAX_DECODED_BYTES = 512 * 1024 ** 2  # all of one upload's kept pixels, held in memory
MB = 1024 ** 2


class UploadCancelled(Exception):
    """The learner moved on before the upload was read: nothing to show."""


# ---- one budget for the whole server ---------------------------------------------------------------

class UploadBudget:
    """Bytes of decoded uploads held by all sessions together. A reservation is given back when the
    dataset it paid for is dropped (a session's state cleared, a tab gone), or explicitly."""

    def __init__(self, limit_bytes: int):
        self.limit = limit_bytes
        self._used = 0
        self._lock = threading.Lock()

    @property
    def used(self) -> int:
        with self._lock:
            return self._used

    def reserve(self, nbytes: int) -> Reservation:
        with self._lock:
            if self._used + nbytes > self.limit:
                held = self._used
            else:
                self._used += nbytes
                return Reservation(self, nbytes)
        raise DataError(
            f"The server is already holding {held / MB:.0f} MB of other uploaded images and can hold "
            f"{self.limit / MB:.0f} MB in all; yours need {nbytes / MB:.0f} MB. Try again in a few minutes, "
            f"or upload fewer or smaller images. (The teacher can raise the limit with FTLAB_UPLOAD_MEMORY_MB.)")

    def _give_back(self, nbytes: int) -> None:
        with self._lock:
            self._used = max(0, self._used - nbytes)


class Reservation:
    def __init__(self, budget: UploadBudget, nbytes: int):
        self._budget, self.nbytes = budget, nbytes
        self._released = False
        self._lock = threading.Lock()

    def release(self) -> None:
        with self._lock:
            if self._released:
                return
            self._released = True
        self._budget._give_back(self.nbytes)

    def tie_to(self, owner: object) -> None:
        """Release when `owner` is garbage-collected (whoever forgets to release, memory comes back)."""
        weakref.finalize(owner, self.release)


_server_budget: UploadBudget | None = None
_server_lock = threading.Lock()


def server_budget() -> UploadBudget:
    """The server's one budget (FTLAB_UPLOAD_MEMORY_MB)."""
    global _server_budget
    with _server_lock:
        if _server_budget is None:
            _server_budget = UploadBudget(settings.current().upload_memory_mb * MB)
        return _server_budget


# ---- plan from headers, then decode ----------------------------------------------------------------

@dataclass(frozen=True)
class _Planned:
    path: Path
    label: int
    pixels: int  # decoded
    kept_bytes: int


def _plan(files: list[tuple[Path, int]], max_short_side: int, skipped: list[str]) -> list[_Planned]:
    """Each image's decoded pixels and kept bytes, from its header only (no pixel is decoded here)."""
    plan = []
    for path, label in files:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # judged just below
                with Image.open(path, formats=IMAGE_FORMATS) as img:
                    w, h = decoded_size(img, max_short_side)
        except Exception:  # noqa: BLE001 - read_image says why, when this file is decoded
            w = h = 0
        if w * h > MAX_PIXELS:
            skipped.append(f"{path.parent.name}/{path.name}: {w}x{h} pixels, more than the "
                           f"{MAX_PIXELS / 1e6:.0f} megapixels allowed per image; resize it")
            continue
        kw, kh = kept_size(w, h, max_short_side)
        plan.append(_Planned(path, label, w * h, kw * kh * 3))
    return plan


def _check_totals(plan: list[_Planned], max_pixels: int, max_bytes: int) -> None:
    pixels, kept = sum(p.pixels for p in plan), sum(p.kept_bytes for p in plan)
    if pixels > max_pixels:
        raise DataError(
            f"These {len(plan)} images hold {pixels / 1e6:,.0f} megapixels; one upload may hold "
            f"{max_pixels / 1e6:,.0f} (decoding more would keep the server busy for minutes). Nothing was "
            f"decoded. Use fewer images, or resize them to a few hundred pixels per side.")
    if kept > max_bytes:
        raise DataError(
            f"These images need more than {max_bytes / MB:,.0f} MB of memory once decoded ({kept / MB:,.0f} MB), "
            f"the most one upload may use. Nothing was decoded. Use fewer images per class or smaller ones "
            f"(a few hundred pixels per side is plenty).")


def folder_dataset(root: Path | str, max_short_side: int = MAX_SHORT_SIDE, max_decoded_bytes: int = MAX_DECODED_BYTES,
                   max_pixels: int = MAX_UPLOAD_PIXELS, budget: UploadBudget | None = None,
                   cancel: threading.Event | None = None,
                   progress: Callable[[int, int], None] | None = None) -> RawDataset:
    """A learner's own images in class folders, kept at most `max_short_side` pixels on the short side.
    Unreadable images are skipped and reported; the limits are checked before anything is decoded."""
    scan = scan_class_folders(root)
    skipped = list(scan.skipped)
    plan = _plan(scan.files, max_short_side, skipped)
    _check_totals(plan, max_pixels, max_decoded_bytes)
    reservation = (budget or server_budget()).reserve(sum(p.kept_bytes for p in plan))
    try:
        arrays, labels = _decode_all(plan, max_short_side, skipped, cancel, progress)
        raw = _dataset(scan.class_names, arrays, labels, skipped)
    except BaseException:
        reservation.release()
        raise
    reservation.tie_to(raw)
    return raw


def _give_freed_memory_back() -> None:
    """Hand the decoders' freed buffers back to the system. Decoding a 40-megapixel image allocates
    120 MB for a moment; glibc keeps such freed memory in the process (the decode thread's arena)
    unless asked, so the server would stay that large long after the images were dropped."""
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):  # not glibc (macOS): nothing to do
        pass


def _decode_all(plan, max_short_side, skipped, cancel, progress) -> tuple[list[np.ndarray], list[int]]:
    try:
        return _decode_each(plan, max_short_side, skipped, cancel, progress)
    finally:
        _give_freed_memory_back()


def _decode_each(plan, max_short_side, skipped, cancel, progress) -> tuple[list[np.ndarray], list[int]]:
    arrays, labels = [], []
    for i, item in enumerate(plan):
        if cancel is not None and cancel.is_set():
            raise UploadCancelled()
        if progress is not None:
            progress(i, len(plan))
        try:
            arrays.append(read_image(item.path, max_short_side=max_short_side))
            labels.append(item.label)
        except DataError as exc:
            skipped.append(f"{item.path.parent.name}/{item.path.name}: {exc}")
    return arrays, labels


def _dataset(class_names: list[str], arrays: list[np.ndarray], labels: list[int], skipped: list[str]) -> RawDataset:
    # The key names the content, all of it: cached features must never be reused for other images.
    digest = hashlib.sha256("\0".join(class_names).encode())
    for arr, lab in zip(arrays, labels):
        digest.update(str((lab, arr.shape)).encode() + arr.tobytes())
    raw = RawDataset(f"folder:{digest.hexdigest()[:24]}", class_names, np.array(labels, dtype=np.int64),
                     lambda i: arrays[i], tuple(skipped))
    try:
        check_classes(raw)
    except DataError as exc:
        if not skipped:
            raise
        # Say why images were missing: "0 classes" alone does not tell a learner what to fix.
        shown = "; ".join(skipped[:5]) + (f"; and {len(skipped) - 5} more" if len(skipped) > 5 else "")
        raise DataError(f"{exc} Files that could not be used: {shown}.") from None
    return raw


def read_upload(content: bytes, cancel: threading.Event | None = None,
                progress: Callable[[int, int], None] | None = None, budget: UploadBudget | None = None) -> RawDataset:
    """An uploaded zip's images, extracted under the data folder (FTLAB_DATA_DIR/uploads, not the system
    temp folder) and removed from disk once they are in memory."""
    folder = settings.current().data_dir / "uploads" / uuid.uuid4().hex
    folder.mkdir(parents=True)
    try:
        zip_path = folder / "upload.zip"
        zip_path.write_bytes(content)
        del content
        safe_extract_zip(zip_path, folder / "images")
        zip_path.unlink()
        return folder_dataset(folder / "images", budget=budget, cancel=cancel, progress=progress)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# ---- in a thread, stoppable ------------------------------------------------------------------------

class UploadJob:
    """Reads one upload in a thread. `cancel()` stops it between images; `result` or `error` once done."""

    def __init__(self, content: bytes, budget: UploadBudget | None = None):
        self.cancelled, self.finished = threading.Event(), threading.Event()
        self.result: RawDataset | None = None
        self.error: str | None = None
        self.done_images, self.total_images = 0, 0
        self._thread = threading.Thread(target=self._run, args=(content, budget), daemon=True, name="ftlab-upload")
        self._thread.start()

    def _run(self, content: bytes, budget: UploadBudget | None) -> None:
        try:
            raw = read_upload(content, self.cancelled, self._progress, budget)
            if not self.cancelled.is_set():
                self.result = raw
        except UploadCancelled:
            pass
        except DataError as exc:
            self.error = str(exc)
        except Exception:  # noqa: BLE001 - the learner gets a message, the log gets the traceback
            log.exception("reading an upload failed")
            self.error = ("The zip could not be read (an unexpected error on the server, logged for the teacher). "
                          "Re-create the zip from the class folders and try again.")
        finally:
            self.finished.set()

    def _progress(self, done: int, total: int) -> None:
        self.done_images, self.total_images = done, total

    def cancel(self) -> None:
        self.cancelled.set()
        self.result = None

    def wait(self, timeout: float) -> bool:
        """True once the job has finished (read, refused, or cancelled)."""
        return self.finished.wait(timeout)


class UploadSlot:
    """One session's upload: starting another cancels the one before; `cancel()` at the session's end."""

    def __init__(self) -> None:
        self.job: UploadJob | None = None
        self._lock = threading.Lock()

    def start(self, content: bytes) -> UploadJob:
        with self._lock:
            if self.job is not None:
                self.job.cancel()
            self.job = UploadJob(content)
            return self.job

    def take_finished(self, timeout: float) -> UploadJob | None:
        """The job once it has finished (it then leaves the slot), or None while it still reads."""
        job = self.job
        if job is None or not job.wait(timeout):
            return None
        with self._lock:
            if self.job is job:
                self.job = None
        return job

    def cancel(self) -> None:
        with self._lock:
            if self.job is not None:
                self.job.cancel()
            self.job = None
