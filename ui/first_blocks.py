"""Under the stem-filter figure: the learner's own image (or a bundled sample) through the pretrained
MobileNetV2's stem and first two blocks, its strongest channels as small grey maps, and what to notice.
A view over core.lab.first_blocks; nothing is computed until the learner picks an image, so the
Concepts page costs no forward pass for readers who skip it.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from core.data.imagefiles import DataError
from core.errors import LearnerError
from core.lab import first_blocks as fb
from core.lab.stem_filters import stem_filters

UPLOAD_MB = 20  # core.runs.analysis.MAX_UPLOAD_BYTES: the widget refuses a larger file before we read it
MAP_PX = 88  # screen pixels per map: eight maps fit across the page's column
TITLES = {
    "stem": "After the stem (the first convolution, with its BatchNorm and ReLU6)",
    "block 1": "After block 1",
    "block 2": "After block 2",
}


def map_pixels(m: np.ndarray) -> np.ndarray:
    """One activation map as grey uint8, its own lowest value black and highest white."""
    low, high = float(m.min()), float(m.max())
    if high - low < 1e-6:
        return np.zeros(m.shape, dtype=np.uint8)
    return ((m - low) / (high - low) * 255).round().astype(np.uint8)


@st.cache_data(max_entries=16, show_spinner=False)
def _from_upload(content: bytes, name: str) -> fb.FirstBlocks:
    return fb.from_upload(content, name)


@st.cache_data(max_entries=len(fb.SAMPLES), show_spinner=False)
def _from_sample(label: str) -> fb.FirstBlocks:
    return fb.first_blocks(fb.sample_image(label))


def _captions(stage: fb.StageMaps) -> list[str]:
    if stage.name != "stem":
        return [f"channel {c}" for c in stage.channels]
    kinds = stem_filters().kinds  # the stem's channel c is kernel c of the figure above
    return [f"#{c} ({kinds[c]})" for c in stage.channels]


def _show(result: fb.FirstBlocks) -> None:
    st.image(result.view, caption=f"what the network receives: {fb.SIZE}x{fb.SIZE}", width=160)
    for stage in result.stages:
        h, w = stage.maps.shape[1:]
        which = (
            f"its {result.stem_edge_channels} edge-detecting channels (the kernels marked edge above), then "
            f"the others that react most"
            if stage.name == "stem"
            else f"the {len(stage.channels)} of its {stage.total} channels that react most to this image"
        )
        st.markdown(f"**{TITLES.get(stage.name, stage.name)}**: {which}; each a {w}x{h} map (light: high, dark: low)")
        st.image([map_pixels(m) for m in stage.maps], caption=_captions(stage), width=MAP_PX)
    st.info(fb.describe(result), icon="👀")


def render_own_image(key: str) -> None:
    """The upload or sample pick, then the maps; a file that cannot be used gets a message, never a traceback."""
    with st.container(border=True, key=f"{key}_own_image"):
        st.markdown("**🔬 Your own image through the first blocks**")
        st.caption(
            "The kernels above are what the first layer could detect. Give it a picture and see what it does: "
            "the real ImageNet-pretrained MobileNetV2, run on your image up to its second block."
        )
        left, right = st.columns(2)
        upload = left.file_uploader(
            "Upload an image (JPEG, PNG, BMP, GIF, WebP or TIFF)",
            type=["png", "jpg", "jpeg", "bmp", "gif", "webp", "tif", "tiff"],
            key=f"{key}_upload",
            max_upload_size=UPLOAD_MB,
        )
        sample = right.selectbox(
            "…or pick a sample image", list(fb.SAMPLES), index=None, placeholder="Pick a sample", key=f"{key}_sample"
        )
        try:
            if upload is not None:
                result = _from_upload(upload.getvalue(), upload.name)
            elif sample is not None:
                result = _from_sample(sample)
            else:
                return
        except DataError as exc:
            st.error(f"Could not use this file: {exc}")
            return
        except LearnerError as exc:  # e.g. the pretrained weights are missing: the message says where they go
            st.warning(str(exc))
            return
        _show(result)
