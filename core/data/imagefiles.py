"""Reading learners' own images safely: image decoding, folders of class folders, and zip files.

Uploaded files are untrusted. Every limit here exists because of a specific attack or accident:
zip slip (``../`` or absolute member names, symlinks), zip bombs (total size and compression
ratio), decompression bombs (huge pixel counts), and odd image modes (CMYK, 16-bit, palette, alpha).
"""
from __future__ import annotations

import stat
import warnings
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from core.errors import LearnerError

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"}
# The decoders a learner's file may reach, whatever its name says: Pillow would otherwise hand a
# ".png" that is really EPS to Ghostscript, and other rare decoders are attack surface we never need.
IMAGE_FORMATS = ("JPEG", "PNG", "BMP", "GIF", "WEBP", "TIFF")
MAX_PIXELS = 40_000_000  # a 100-megapixel photo is refused before it is decoded
MAX_ASPECT = 2  # long side kept at most 2x the short: prepare() uses only the centre square, plus a margin
EXIF_ORIENTATION = 0x0112  # how a camera says "turn me" (phones store portraits sideways)
MAX_ZIP_TOTAL = 500 * 1024 * 1024  # uncompressed bytes
MAX_ZIP_FILES = 20_000
MAX_ZIP_RATIO = 200  # uncompressed/compressed, per member and for the whole archive
MIN_BOMB_BYTES = 1_000_000  # below this, a high ratio is harmless (a tiny blank PNG compresses well)
MAX_NAME_BYTES = 255  # the longest file or folder name Linux and macOS file systems store
MAX_CLASSES = 100


class DataError(LearnerError, ValueError):
    """Something is wrong with a dataset; the message says what and what to do about it."""


def to_rgb_array(img: Image.Image) -> np.ndarray:
    """Any PIL image -> HxWx3 uint8. Alpha is composited on white; 16-bit is scaled to 8-bit."""
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(img, dtype=np.float64)
        hi = arr.max() or 1.0
        arr = (arr / (65535.0 if hi > 255 else 255.0) * 255.0).clip(0, 255).astype(np.uint8)
        return np.repeat(arr[..., None], 3, axis=2)
    if img.mode == "F":
        arr = np.asarray(img, dtype=np.float64)
        lo, hi = arr.min(), arr.max()
        arr = ((arr - lo) / ((hi - lo) or 1.0) * 255).astype(np.uint8)
        return np.repeat(arr[..., None], 3, axis=2)
    if img.mode == "P":
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA", "PA"):
        background = Image.new("RGBA", img.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, img.convert("RGBA"))
    return np.asarray(img.convert("RGB"), dtype=np.uint8)


def kept_size(width: int, height: int, max_short_side: int | None) -> tuple[int, int]:
    """The (width, height) read_image keeps of a decoded image: the long side cropped to at most
    MAX_ASPECT times the short side around the centre, then the short side at most `max_short_side`.
    Without `max_short_side`, the whole image."""
    if not max_short_side:
        return width, height
    short = min(width, height)
    long_max = MAX_ASPECT * short
    w, h = min(width, long_max), min(height, long_max)
    scale = 1.0 if short <= max_short_side else max_short_side / short
    return max(1, round(w * scale)), max(1, round(h * scale))


def decoded_size(img: Image.Image, max_short_side: int | None) -> tuple[int, int]:
    """The size `img` decodes at, from its header: a JPEG decodes straight at 1/2, 1/4 or 1/8 scale
    (Pillow's draft) when the smaller image still has `max_short_side` pixels on its short side."""
    w, h = img.size
    if max_short_side and img.format == "JPEG" and min(w, h) > max_short_side:
        scale = max_short_side / min(w, h)
        img.draft(None, (max(1, int(w * scale + 0.999)), max(1, int(h * scale + 0.999))))
    return img.size


def _fit(img: Image.Image, max_short_side: int | None) -> Image.Image:
    """Crop and shrink to kept_size, in the image's own mode when it can (cheaper than RGB first)."""
    w, h = img.size
    if not max_short_side:
        return img
    kw, kh = kept_size(w, h, max_short_side)
    cw, ch = min(w, MAX_ASPECT * min(w, h)), min(h, MAX_ASPECT * min(w, h))
    if (cw, ch) != (w, h):
        left, top = (w - cw) // 2, (h - ch) // 2
        img = img.crop((left, top, left + cw, top + ch))
    if (kw, kh) != img.size:
        if img.mode not in ("L", "RGB"):
            img = Image.fromarray(to_rgb_array(img))
        img = img.resize((kw, kh), Image.Resampling.BILINEAR, reducing_gap=3.0)
    return img


def read_image(path: Path | str, max_pixels: int = MAX_PIXELS, max_short_side: int | None = None) -> np.ndarray:
    """Decode one image file to HxWx3 uint8, upright as its EXIF says (phone photos), or raise
    DataError saying why it cannot be used. With `max_short_side`, only what a dataset keeps is kept
    (kept_size), and a JPEG is decoded at a reduced scale when that is enough."""
    path = Path(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path, formats=IMAGE_FORMATS) as img:
                w, h = decoded_size(img, max_short_side)
                if w * h > max_pixels:
                    raise DataError(
                        f"{path.name} is {w}x{h} pixels ({w * h / 1e6:.0f} megapixels), more than the "
                        f"{max_pixels / 1e6:.0f} allowed. Resize it to a few hundred pixels per side."
                    )
                img.load()
                orientation = img.getexif().get(EXIF_ORIENTATION, 1)
                small = _fit(img, max_short_side)
                if orientation != 1:  # turned after shrinking: the transpose then costs next to nothing
                    small.getexif()[EXIF_ORIENTATION] = orientation
                    small = ImageOps.exif_transpose(small)
                return to_rgb_array(small)
    except DataError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise DataError(f"{path.name} declares a huge image size (a decompression bomb?), so it was not "
                        f"decoded. Resize it to a few hundred pixels per side and add it again.")
    except UnidentifiedImageError:
        raise DataError(f"{path.name} is not a JPEG, PNG, BMP, GIF, WebP or TIFF image (wrong extension, "
                        f"another format, or not an image file). Remove it, or save it again as JPEG or PNG.")
    except (OSError, SyntaxError, ValueError) as exc:
        raise DataError(f"{path.name} could not be decoded ({_reason(exc)}); the file may be corrupt or truncated. "
                        f"Export it again from the original, or remove it.")


@dataclass
class FolderScan:
    class_names: list[str]
    files: list[tuple[Path, int]]  # (file, class index)
    skipped: list[str] = field(default_factory=list)  # human-readable reasons


def scan_class_folders(root: Path | str, max_classes: int = MAX_CLASSES) -> FolderScan:
    """Find images in ImageFolder layout: root/<class name>/<image>. Raises DataError if unusable."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"{root} is not a folder. Give a folder that holds one sub-folder per class.")
    entries = [p for p in sorted(root.iterdir()) if not p.name.startswith((".", "__"))]
    # A zip of one top folder holding the class folders is common: look one level down.
    if len(entries) == 1 and entries[0].is_dir() and any(p.is_dir() for p in entries[0].iterdir()):
        if not any(p.suffix.lower() in IMAGE_SUFFIXES for p in entries[0].iterdir()):
            return scan_class_folders(entries[0], max_classes)
    class_dirs = [p for p in entries if p.is_dir() and not p.is_symlink()]
    if not class_dirs:
        raise DataError(
            f"No class folders in {root.name or root}. Put each class's images in its own folder, "
            f"e.g. cats/1.jpg, dogs/2.jpg."
        )
    seen: dict[str, str] = {}
    for d in class_dirs:
        low = d.name.lower()
        if low in seen:
            raise DataError(
                f"Class folders '{seen[low]}' and '{d.name}' differ only in upper/lower case. "
                f"Merge or rename them so each class has one folder."
            )
        seen[low] = d.name
    if len(class_dirs) > max_classes:
        raise DataError(f"Found {len(class_dirs)} class folders; the lab handles at most {max_classes}. "
                        f"Keep the classes you want to compare (a few are enough to learn from) and "
                        f"zip those folders only.")
    files, skipped = [], []
    for idx, d in enumerate(class_dirs):
        for f in sorted(d.rglob("*")):
            if f.is_symlink():
                skipped.append(f"{d.name}/{f.name}: symbolic link ignored")
            elif f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES:
                files.append((f, idx))
            elif f.is_file() and not f.name.startswith("."):
                skipped.append(f"{d.name}/{f.name}: not an image file type")
    return FolderScan([d.name for d in class_dirs], files, skipped)


def safe_extract_zip(zip_path: Path | str, dest: Path | str, max_total: int = MAX_ZIP_TOTAL,
                     max_files: int = MAX_ZIP_FILES, max_ratio: float = MAX_ZIP_RATIO) -> Path:
    """Extract a zip, refusing path escapes, links, and bombs. Returns the destination folder."""
    dest = Path(dest).resolve()
    dest.mkdir(parents=True, exist_ok=True)
    try:
        zf = zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise DataError(f"This is not a readable zip file ({_reason(exc)}). Re-create it with your system's "
                        f"'compress' tool.")
    with zf:
        members = [m for m in zf.infolist() if not m.is_dir()]
        _check_members(members, max_total, max_files, max_ratio)
        extracted = 0
        for m in members:
            extracted = _extract_member(zf, m, dest, extracted, max_total)
    return dest


def _check_members(members: list[zipfile.ZipInfo], max_total: int, max_files: int, max_ratio: float) -> None:
    """Refuse the whole zip from its headers alone, before one byte is written."""
    if not members:
        raise DataError("The zip file is empty. Put one folder per class, with images inside, into the zip.")
    if len(members) > max_files:
        raise DataError(f"The zip holds {len(members)} files; the limit is {max_files}. Use fewer "
                        f"images per class (a few dozen are plenty for fine-tuning).")
    files: set[tuple[str, ...]] = set()
    folders: set[tuple[str, ...]] = set()
    for m in members:
        parts = _safe_parts(m)
        files.add(parts)
        folders.update(parts[:i] for i in range(1, len(parts)))
    clash = files & folders
    if clash:
        raise DataError(f"The zip holds both a file and a folder named '{'/'.join(min(clash))}'; nothing was "
                        f"extracted. Rename one of them, then re-create the zip from the class folders.")
    total = sum(m.file_size for m in members)
    packed = sum(m.compress_size for m in members)
    for m in members:
        if m.compress_size and m.file_size / m.compress_size > max_ratio and m.file_size > MIN_BOMB_BYTES:
            raise DataError(f"{m.filename!r} expands {m.file_size / m.compress_size:.0f}x: this looks "
                            f"like a zip bomb, so nothing was extracted. Zip your image files "
                            f"themselves (photos hardly compress).")
    if total > MIN_BOMB_BYTES and total > max_ratio * max(packed, 1):
        # Many members each under the per-member floor add up: judge the archive as a whole too.
        raise DataError(f"The zip expands {total / max(packed, 1):.0f}x ({total / 1e6:.0f} MB from "
                        f"{packed / 1e6:.1f} MB): this looks like a zip bomb, so nothing was extracted. "
                        f"Zip your image files themselves (photos hardly compress).")
    if total > max_total:
        raise DataError(f"The zip expands to {total / 1e6:.0f} MB, over the {max_total / 1e6:.0f} MB "
                        f"limit. Use fewer or smaller images.")


def _safe_parts(m: zipfile.ZipInfo) -> tuple[str, ...]:
    """The member's path parts, or DataError for a name that escapes, links, or no disk can hold."""
    name = m.filename.replace("\\", "/")
    parts = PurePosixPath(name).parts
    if name.startswith("/") or ".." in parts or (parts and ":" in parts[0]):
        raise DataError(f"The zip contains an unsafe path ({m.filename!r}) that points outside "
                        f"its folder; nothing was extracted. Re-create the zip from the class folders.")
    if stat.S_ISLNK(m.external_attr >> 16):
        raise DataError(f"The zip contains a symbolic link ({m.filename!r}); links are not allowed. "
                        f"Zip the image files themselves.")
    too_long = next((p for p in parts if len(p.encode("utf-8", "surrogateescape")) > MAX_NAME_BYTES), None)
    if too_long is not None:
        raise DataError(f"The zip names a file or folder longer than {MAX_NAME_BYTES} bytes "
                        f"('{too_long[:40]}…'), more than a disk can store; nothing was extracted. "
                        f"Give the folders and images shorter names, then re-create the zip.")
    return parts


def _extract_member(zf: zipfile.ZipFile, m: zipfile.ZipInfo, dest: Path, extracted: int, max_total: int) -> int:
    """Write one member under `dest`, counting bytes as they come; returns the running total."""
    target = (dest / m.filename).resolve()
    if dest not in target.parents:
        raise DataError(f"The zip contains an unsafe path ({m.filename!r}); nothing more was extracted. "
                        f"Re-create the zip from the class folders.")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with zf.open(m) as src, open(target, "wb") as out:
            # Count bytes as they come: a lying header cannot make us write more than allowed.
            written = 0
            for block in iter(lambda: src.read(1 << 20), b""):
                written += len(block)
                extracted += len(block)
                if written > m.file_size + 1024 or extracted > max_total:
                    raise DataError("The zip's contents are larger than its header says (a damaged or "
                                    "crafted file); extraction stopped. Re-create the zip from the "
                                    "class folders.")
                out.write(block)
    except DataError:
        raise
    except RuntimeError as exc:  # zipfile: "File ... is encrypted, password required"
        raise DataError(f"{m.filename!r} in the zip could not be read ({exc}). Password-protected "
                        f"zips are not supported: zip the folders again without a password.") from exc
    except (zipfile.BadZipFile, NotImplementedError, EOFError, OSError, zlib.error) as exc:
        raise DataError(f"{m.filename!r} in the zip could not be read ({_reason(exc)}); the zip is damaged, "
                        f"uses an unsupported compression, or names files this disk cannot hold. Re-create "
                        f"it with your system's 'compress' tool.") from exc
    return extracted


def _reason(exc: BaseException) -> str:
    """An error's text without the server's file paths (an OSError's str() names the full path)."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc)
