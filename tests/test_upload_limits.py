"""One learner's upload must not hurt the class (issue 22): crafted zips, image formats, phone photos,
pixel and memory budgets, cancellable decoding. Every input is built here, tiny, in the test."""
from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.data.imagefiles import DataError, read_image, safe_extract_zip
from tests import badinput_helpers as H


def says(msg: str, *fragments: str) -> None:
    low = msg.lower()
    for f in fragments:
        assert f.lower() in low, f"{f!r} not in message: {msg}"


def extract(tmp_path: Path, members: dict[str, bytes], **limits) -> Path:
    z = tmp_path / "upload.zip"
    z.write_bytes(H.zip_bytes(members))
    return safe_extract_zip(z, tmp_path / "out", **limits)


# ==== crafted zips ===================================================================================

def test_a_file_and_a_folder_of_the_same_name_is_refused_clearly(tmp_path):
    with pytest.raises(DataError) as e:
        extract(tmp_path, {"cats": b"not a folder", "cats/1.png": H.noise_png(1), "dogs/1.png": H.noise_png(2)})
    says(str(e.value), "'cats'", "both a file and a folder", "re-create the zip")
    assert str(tmp_path) not in str(e.value)


def test_a_folder_name_over_255_bytes_is_refused_clearly(tmp_path):
    long = "é" * 130  # 260 bytes in UTF-8: over the file system's limit for one name
    with pytest.raises(DataError) as e:
        extract(tmp_path, {f"{long}/1.png": H.noise_png(1), "dogs/1.png": H.noise_png(2)})
    says(str(e.value), "longer than 255 bytes", "shorter names")
    assert str(tmp_path) not in str(e.value)


def test_a_png_that_is_really_eps_is_refused_by_format(tmp_path):
    fake = tmp_path / "cat.png"
    fake.write_bytes(b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n%%EndComments\nshowpage\n")
    with pytest.raises(DataError) as e:
        read_image(fake)
    says(str(e.value), "cat.png", "not a jpeg, png", "save it again as jpeg or png")


def test_many_small_members_of_zeros_are_a_zip_bomb(tmp_path):
    members = {f"cats/{i}.png": bytes(999_999) for i in range(100)}  # each under the 1 MB per-member check
    z = tmp_path / "upload.zip"
    z.write_bytes(H.zip_bytes(members))
    assert z.stat().st_size < 200_000
    with pytest.raises(DataError) as e:
        safe_extract_zip(z, tmp_path / "out")
    says(str(e.value), "zip bomb", "nothing was extracted")
    assert not list((tmp_path / "out").rglob("*"))


def test_photos_and_pngs_that_hardly_compress_still_extract(tmp_path):
    out = extract(tmp_path, {f"{c}/{i}.png": H.noise_png(i, 64) for c in ("cats", "dogs") for i in range(5)})
    assert len(list(out.rglob("*.png"))) == 10


# ==== phone photos ===================================================================================

def rotated_jpeg(orientation: int = 6) -> bytes:
    """A 30x20 JPEG stored sideways, as phones store a portrait photo: EXIF says 'rotate on display'.
    Its left third is red, so the red ends up on top once turned upright (orientation 6 turns it 90° clockwise)."""
    arr = np.zeros((20, 30, 3), np.uint8)
    arr[:, :10] = (255, 0, 0)
    img = Image.fromarray(arr)
    exif = img.getexif()
    exif[0x0112] = orientation
    buf = io.BytesIO()
    img.save(buf, format="JPEG", exif=exif, quality=95)
    return buf.getvalue()


def test_phone_photos_are_turned_upright_from_their_exif(tmp_path):
    path = tmp_path / "portrait.jpg"
    path.write_bytes(rotated_jpeg())
    arr = read_image(path)
    assert arr.shape == (30, 20, 3)  # upright: taller than wide
    assert arr[2, 10, 0] > 200 and arr[-2, 10, 0] < 60  # the red third is at the top


def test_the_try_on_your_photo_image_is_turned_upright_too():
    from core.runs.analysis import read_image_bytes

    assert read_image_bytes(rotated_jpeg(), "me.jpg").shape == (30, 20, 3)
