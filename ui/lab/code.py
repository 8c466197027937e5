"""The Lab's "Code for this setup": the form's settings as a PyTorch script and its Keras 3 twin.

A thin view over core.lab.codegen, drawn under the setup so the code always matches the form above it:
one tab per framework, each with a download button and the script (st.code has a copy button).
Both scripts are rebuilt on every rerun rather than kept in session state: about 1 ms for the pair
on the shared 2-core machine, once a server has read a backbone's module names (0.3 to 0.4 s, the
first time that backbone is shown).
"""

import streamlit as st

from core.lab import codegen
from core.lab.presets import PRESETS
from core.train.config import ConfigError, TrainConfig

KEY = "lab_code"  # widget keys: lab_code_pytorch, lab_code_keras; the section: lab_code
CODE_HEIGHT = 420  # px: a 250-line script scrolls inside the tab instead of lengthening the page

FRAMEWORKS = (
    (
        "pytorch",
        "PyTorch",
        codegen.pytorch_script,
        "Run it with `python {file} path/to/data`, where data/ holds `train/` and `val/`, each with one "
        "sub-folder of images per class. `--epochs 1` gives a quick first try.",
    ),
    (
        "keras",
        "Keras 3",
        codegen.keras_script,
        "Run it with `KERAS_BACKEND=torch python {file} path/to/data` (or the TensorFlow or JAX backend). "
        "Where Keras cannot do what the Lab does, a comment in the script says so.",
    ),
)


def origin(cfg: TrainConfig, preset_id: str | None) -> str:
    """What the script's docstring says it came from: an untouched preset by name, else the settings."""
    preset = PRESETS.get(preset_id or "")
    if preset is not None and preset.config == cfg:
        return f'the preset "{preset.title}"'
    return "its current settings"


def code_section(cfg: TrainConfig, preset_id: str | None = None) -> None:
    """An expander with both scripts for `cfg` (a config that has passed validate())."""
    with st.container(key=KEY), st.expander("Code for this setup (PyTorch and Keras 3)", icon="🐍"):
        st.markdown(
            "These settings as a complete script that fine-tunes on **your own folder of images**: "
            "the same layer groups, which of them train and when, the learning rate of each, "
            "BatchNorm handling and early stopping. Copy it (top right of the code) or download it."
        )
        where = origin(cfg, preset_id)
        try:
            codegen.check_groups(cfg)
        except ConfigError as exc:
            st.info(f"No code for this setup yet: {exc}", icon="⚙️")
            return
        for tab, (framework, _, make, how) in zip(st.tabs([f[1] for f in FRAMEWORKS]), FRAMEWORKS):
            with tab:
                script, name = make(cfg, where), codegen.filename(cfg, framework)
                st.caption(how.format(file=name))
                st.download_button(
                    f"Download {name}",
                    script,
                    file_name=name,
                    mime="text/x-python",
                    key=f"{KEY}_{framework}",
                    on_click="ignore",
                    icon=":material/download:",
                )
                st.code(script, language="python", height=CODE_HEIGHT)
