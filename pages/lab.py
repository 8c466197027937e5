"""The Lab: set up a fine-tune, watch it train live, compare runs.

A thin view: setup widgets (pages.lab_setup), state and shareable URL (pages.lab_state), the live
panel and history (pages.lab_live). Training runs in the server's job pool (core.jobs), never in
this script's thread.
"""
import streamlit as st

from core.engine import ConfigError
from core.presets import DEMO_IDS, PRESETS
from pages import lab_live as live
from pages import lab_setup as setup
from pages import lab_state as S
from pages.common import require_app_frame

require_app_frame()

PRESENTER_CSS = """<style>
[data-testid="stMain"] p, [data-testid="stMain"] label, [data-testid="stMain"] li,
[data-testid="stMain"] [data-testid="stMarkdownContainer"] { font-size: 1.3rem !important; }
[data-testid="stMain"] h1 { font-size: 3rem !important; }
[data-testid="stMain"] h2, [data-testid="stMain"] h3 { font-size: 2rem !important; }
[data-testid="stMetricValue"] { font-size: 2.4rem !important; }
</style>"""

ss = st.session_state
manager = live.attach_session()

# ---- state: defaults, then (once per session) a shared link's settings -----------------------------
S.init_state(ss)
if not ss.get(S.QUERY_DONE):
    ss[S.QUERY_DONE] = True
    cfg_q, preset_q, ignored = S.config_from_query(dict(st.query_params.to_dict()))
    if cfg_q is not None:
        S.apply_config(ss, cfg_q)
        ss[S.K_PRESET] = preset_q
    for note in ignored:
        st.warning(f"Ignored the link parameter {note}.", icon="🔗")

with st.sidebar:
    presenter = st.toggle("Presenter mode", key=S.K_PRESENTER,
                          help="Larger type, fewer controls, and the classroom demos with what to watch for.")
advanced = not presenter
if presenter:
    st.html(PRESENTER_CSS)

st.title("🧪 Lab")
st.markdown("Choose data, a pretrained model and **which layers train**, then watch the curves. "
            "Every setting is in the page address: copy it to share this exact setup.")


def demo_list(expanded: bool) -> None:
    # Folded while runs are live, so the curves are not pushed far down the page.
    box = st.expander("🎓 Classroom demos: what each shows, and what to watch for", expanded=expanded)
    for pid in DEMO_IDS:
        p = PRESETS[pid]
        with box.container(border=True):
            st.markdown(f"**{p.title}**  \n{p.watch_for}")
            c1, c2 = st.columns(2)
            c1.button("Load first run", key=f"lab_demo_{pid}", on_click=_load_demo, args=(pid,))
            if c2.button(f"Run all {len(p.runs)} variants", key=f"lab_demo_run_{pid}"):
                _load_demo(pid)
                live.submit(p.runs)


def _load_demo(pid: str) -> None:
    ss[S.K_PRESET] = pid
    setup.load_preset()


if presenter:
    demo_list(expanded=not any(s.active for s in live.current_snapshots(manager)))

# ---- setup -------------------------------------------------------------------------------------------
setup.preset_picker(presenter)
pid = ss.get(S.K_PRESET)
if pid in PRESETS and len(PRESETS[pid].runs) > 1 and not presenter:
    labels = " vs ".join(label for label, _ in PRESETS[pid].runs)
    if st.button(f"▶ Run all {len(PRESETS[pid].runs)} variants ({labels}) and overlay them", key="lab_run_all"):
        live.submit(PRESETS[pid].runs)

col_data, col_model = st.columns(2)
with col_data:
    st.subheader("Data")
    data, num_classes = setup.data_section(advanced)
with col_model:
    st.subheader("Model")
    setup.model_section(advanced)

st.subheader("Layers")
setup.layers_section(num_classes)


def current_config():
    """The form as a TrainConfig, or None (with the reason shown) when it cannot run."""
    try:
        cfg = S.config_from_state(ss)
        cfg.validate()
        return cfg
    except (ConfigError, ValueError) as exc:
        st.error(str(exc), icon="⚙️")
        return None


col_lr, col_train = st.columns(2)
with col_train:
    st.subheader("Training")
    setup.training_section(advanced)
with col_lr:
    st.subheader("Learning rate")
    setup.lr_section(advanced, current_config, data)

cfg = current_config()
if cfg is not None:
    setup.estimate_caption(cfg, num_classes)
    if st.button("Start training", key="lab_start", type="primary", icon="▶️"):
        if cfg.dataset == S.UPLOAD and data is None:
            st.error("Upload a zip of class folders first (or pick another dataset).", icon="🗂️")
        else:
            live.submit([("", cfg)], data=data)

# ---- the run -------------------------------------------------------------------------------------------
st.divider()
snaps = live.current_snapshots(manager)
if any(s.active for s in snaps):
    live.live_panel()
elif snaps:
    live.collect_ended(snaps)
    live.show_ended(snaps)
elif ss.get(live.CURRENT):
    st.info("The record of your last run has expired on the server; your history below keeps its numbers.")
live.collect_all(manager)
live.show_history()

# ---- mirror the setup into the URL, and keep it across page changes -----------------------------------
if cfg is not None:
    st.query_params.from_dict(S.config_to_query(cfg, ss.get(S.K_PRESET) or ""))
S.save_state(ss)
