"""core.lab.first_blocks: a learner's image through the pretrained MobileNetV2's stem and first two
blocks, on a tiny input: the maps are the real network's, and the stem's response gathers on edges."""
import numpy as np
import pytest
import torch
from torchvision.models import MobileNet_V2_Weights, mobilenet_v2

from core.data.datasets import to_square_tensor
from core.lab import first_blocks as fb
from core.lab.stem_filters import EDGE, stem_filters
from core.train.inputs import normalise


def _square() -> np.ndarray:
    img = np.zeros((32, 32, 3), dtype=np.uint8)
    img[8:24, 8:24] = 200  # a light square on black: four straight edges, flat inside and out
    return img


@pytest.fixture(scope="module")
def square():
    return fb.first_blocks(_square(), size=32)


def test_the_maps_are_the_pretrained_networks_most_responsive_channels(square):
    net = mobilenet_v2(weights=MobileNet_V2_Weights.IMAGENET1K_V1).eval()
    x = normalise(to_square_tensor(_square(), 32)[None], torch.device("cpu"))
    with torch.inference_mode():
        outs = [net.features[:n](x)[0].numpy() for n in (1, 2, 3)]
    assert [s.name for s in square.stages] == ["stem", "block 1", "block 2"]
    assert [s.total for s in square.stages] == [32, 16, 24]
    assert [s.maps.shape for s in square.stages] == [(8, 16, 16), (8, 16, 16), (8, 8, 8)]
    edge = [i for i, k in enumerate(stem_filters().kinds) if k == EDGE]
    for stage, out in zip(square.stages, outs):
        strength = np.abs(out - np.median(out, axis=(1, 2), keepdims=True)).mean(axis=(1, 2))
        first = edge if stage.name == "stem" else []  # the stem's edge detectors lead, then the rest
        ranked = [c for g in (first, [c for c in range(len(out)) if c not in first]) for c in sorted(g, key=lambda c: -strength[c])]
        assert list(stage.channels) == ranked[:8]
        assert np.allclose(stage.maps, out[list(stage.channels)], atol=1e-5)
        shown = list(stage.strength)[len(first):]
        assert shown == sorted(shown, reverse=True)
    assert [s.receptive_field for s in square.stages] == [3, 7, 11]  # 3x3 convolutions, strides 2, 1, 2


def test_the_stems_response_gathers_on_the_edges(square):
    # Edges are under a third of the map but hold most of the edge channels' response.
    assert 0 < square.edge_area < 0.4
    assert square.stem_edge_share > 2 * square.edge_area and square.stem_edge_channels >= 6
    text = fb.describe(square)
    assert f"edges cover {square.edge_area:.0%}" in text and f"hold {square.stem_edge_share:.0%} of the response" in text and "reacts where brightness changes" in text


def test_a_flat_image_has_nothing_to_compare():
    flat = fb.first_blocks(np.full((20, 20, 3), 90, dtype=np.uint8), size=32)
    assert np.isnan(flat.stem_edge_share) and np.isnan(flat.edge_area)
    assert "no clear edge" in fb.describe(flat)


def test_a_grey_image_goes_in_as_three_equal_channels():
    grey = fb.first_blocks(_square()[..., 0], size=32)
    assert grey.view.shape == (32, 32, 3) and (grey.view[..., 0] == grey.view[..., 2]).all()


def test_a_weak_effect_is_called_weak(square):
    from dataclasses import replace

    text = fb.describe(replace(square, stem_edge_share=square.edge_area))
    assert "effect is weak" in text and "reacts where brightness changes" not in text


def _png(img: np.ndarray) -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="PNG")
    return buf.getvalue()


def test_an_upload_goes_through_the_safe_reader_and_a_corrupt_one_says_what_to_do():
    from core.data.imagefiles import DataError

    up = fb.from_upload(_png(_square()), "square.png")
    assert up.view.shape == (fb.SIZE, fb.SIZE, 3) and up.stem_edge_share > up.edge_area
    with pytest.raises(DataError, match="broken.png could not be decoded .* corrupt or truncated"):
        fb.from_upload(_png(_square())[:60], "broken.png")  # a real PNG cut short
    with pytest.raises(DataError, match="not a JPEG, PNG"):
        fb.from_upload(b"these bytes are no image", "fake.png")
    with pytest.raises(DataError, match="empty"):
        fb.from_upload(b"", "nothing.png")


def test_every_sample_is_an_offline_image():
    for label in fb.SAMPLES:
        img = fb.sample_image(label)
        assert img.dtype == np.uint8 and min(img.shape[:2]) >= 20
