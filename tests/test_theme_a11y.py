"""The theme's accessibility promises, checked without a browser: the chart palette is the shared
colour-blind-safe one, and captions (text colour at 60% on white) stay above WCAG AA contrast."""
import tomllib
from pathlib import Path

from ui.common import PALETTE

CONFIG = tomllib.loads((Path(__file__).resolve().parents[1] / ".streamlit" / "config.toml").read_text())
AA = 4.5


def luminance(hex_colour: str) -> float:
    rgb = [int(hex_colour.lstrip("#")[i:i + 2], 16) / 255 for i in (0, 2, 4)]
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast(a: str, b: str) -> float:
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def over_white(hex_colour: str, alpha: float) -> str:
    rgb = [int(hex_colour.lstrip("#")[i:i + 2], 16) for i in (0, 2, 4)]
    return "#" + "".join(f"{round(alpha * c + (1 - alpha) * 255):02x}" for c in rgb)


def test_charts_use_the_shared_colour_blind_safe_palette():
    assert CONFIG["theme"]["chartCategoricalColors"] == list(PALETTE)
    assert len(set(PALETTE)) == len(PALETTE) == 8


def test_captions_meet_aa_contrast():
    text = CONFIG["theme"]["textColor"]
    caption = over_white(text, 0.6)  # Streamlit draws captions in the text colour at opacity 0.6
    assert contrast(caption, "#ffffff") >= AA
    assert contrast("#828180", "#ffffff") < AA  # the default theme's captions, as axe measured them


def test_server_section_is_untouched_by_the_theme():
    assert CONFIG["server"]["fileWatcherType"] == "none"
