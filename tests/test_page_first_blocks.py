"""The learner's own image through MobileNetV2's first blocks, under the stem-filter figure (issue 26):
a sample or an upload shows the maps and what to notice; a corrupt file gets a message, not a traceback."""
import io

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from core.content.lessons import load_lessons
from core.lab import first_blocks as fb
from tests.test_pages_learning import isolated_db, page  # noqa: F401  (fixture, page runner)

KEY = "fb"


def _view():
    from ui.first_blocks import render_own_image

    render_own_image("fb")


def _png(img: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="PNG")
    return buf.getvalue()


def _square() -> np.ndarray:
    img = np.zeros((40, 40, 3), dtype=np.uint8)
    img[10:30, 10:30] = (230, 200, 40)
    return img


@pytest.fixture
def at():
    at = AppTest.from_function(_view, default_timeout=60)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _captions(at) -> list[str]:
    return [c for img in at.image for c in img.captions]


def test_nothing_runs_until_an_image_is_picked(at):
    assert not at.image and len(at.file_uploader) == 1 and at.selectbox(key=f"{KEY}_sample").value is None


def test_a_sample_shows_the_three_stages_and_what_to_notice(at):
    label = next(iter(fb.SAMPLES))
    at.selectbox(key=f"{KEY}_sample").set_value(label).run()
    assert not at.exception and not at.error
    captions = _captions(at)
    assert f"what the network receives: {fb.SIZE}x{fb.SIZE}" in captions
    assert sum("(edge)" in c for c in captions) >= 1  # stem channels named by their kernel's kind
    assert sum(c.startswith("channel ") for c in captions) == 2 * fb.TOP  # blocks 1 and 2
    expected = fb.describe(fb.first_blocks(fb.sample_image(label)))
    assert [i.value for i in at.info] == [expected] and "reacts where brightness changes" in expected


def test_an_upload_is_shown_and_a_corrupt_one_gets_a_clear_message(at):
    at.file_uploader(key=f"{KEY}_upload").set_value(("square.png", _png(_square()), "image/png")).run()
    assert not at.exception and not at.error
    assert len(at.image) == 1 + len(fb.STAGES) and "edges cover" in at.info[0].value

    at.file_uploader(key=f"{KEY}_upload").set_value(("cut.png", _png(_square())[:70], "image/png")).run()
    assert not at.exception
    assert len(at.error) == 1 and "could not be decoded" in at.error[0].value and "Export it again" in at.error[0].value
    assert not at.image  # nothing half-drawn


def test_the_concepts_page_offers_it_under_the_stem_figure():
    figure = next(f for f in load_lessons().figures if f.kind == "stem-filters")
    at = page("concepts", concept=figure.concept)  # one concept at a time: the one the figure sits in
    assert at.file_uploader(key=f"figure_{figure.id}_upload") is not None
    assert at.selectbox(key=f"figure_{figure.id}_sample").options == list(fb.SAMPLES)

