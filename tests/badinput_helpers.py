"""Builders for the bad-input tests: images in odd modes, class-folder trees, hostile zips."""
from __future__ import annotations

import io
import stat
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image


def png_bytes(size=(12, 10), mode="RGB", colour=None) -> bytes:
    img = Image.new(mode, size, colour if colour is not None else 0)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def noise_png(seed: int, size: int = 16) -> bytes:
    """A small distinct RGB image (different content per seed)."""
    rng = np.random.default_rng(seed)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def class_tree(root: Path, counts: dict[str, int], size: int = 16) -> Path:
    """root/<class>/<i>.png with `counts[class]` distinct images each."""
    seed = 0
    for name, n in counts.items():
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            (root / name / f"{i}.png").write_bytes(noise_png(seed, size))
            seed += 1
    return root


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def good_zip(counts: dict[str, int] | None = None) -> bytes:
    counts = counts or {"cats": 4, "dogs": 4}
    members, seed = {}, 0
    for name, n in counts.items():
        for i in range(n):
            members[f"{name}/{i}.png"] = noise_png(seed)
            seed += 1
    return zip_bytes(members)


def symlink_zip(target: str = "/etc/passwd") -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("cats/1.png", noise_png(1))
        info = zipfile.ZipInfo("cats/evil.png")
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(info, target)
    return buf.getvalue()


def encrypted_flag_zip() -> bytes:
    """A zip whose first member is marked password-protected (zipfile reads, but cannot write, those):
    the 'encrypted' flag bit is set in its local and central headers after zipping."""
    data = bytearray(zip_bytes_stored({"cats/1.png": noise_png(1), "dogs/1.png": noise_png(2)}))
    local = data.index(b"PK\x03\x04")
    central = data.index(b"PK\x01\x02")
    data[local + 6] |= 0x1
    data[central + 8] |= 0x1
    return bytes(data)


def bad_crc_zip() -> bytes:
    """A stored (uncompressed) member whose bytes were damaged after zipping: CRC mismatch."""
    data = bytearray(zip_bytes_stored({"cats/1.png": noise_png(1), "dogs/1.png": noise_png(2)}))
    i = data.index(b"IDAT") + 8  # inside the first image's pixel data
    data[i] ^= 0xFF
    return bytes(data)


def zip_bytes_stored(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def zeros_zip(path: Path, megabytes: int, name: str = "cats/zeros.png") -> Path:
    """A zip bomb: `megabytes` MB of zeros, which deflate to about 1/1000 of that."""
    block = bytes(1 << 20)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        with zf.open(name, "w", force_zip64=True) as fh:
            for _ in range(megabytes):
                fh.write(block)
    return path
