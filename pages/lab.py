"""The Lab: set up a fine-tune, watch it train live, compare runs.

A thin view: setup widgets (ui.lab.setup), state and shareable URL (ui.lab.state), the live
view, the results and history (ui.lab.live), classroom demos (ui.lab.demos). Training runs
in the server's job pool (core.jobs.manager), never in this script's thread. Top to bottom: the sticky
Start/Stop bar, the run (live while it trains, then its outcome and results, in the same place),
the setup (a one-line summary while a run trains), the history.
"""

import streamlit as st

from core.lab import links
from core.lab.presets import PRESETS
from core.train.config import ConfigError
from ui.common import arrived_from_another_page, md_text
from ui.lab import code, demos, ended, history, live, preview, setup
from ui.lab import state as S

# Projector mode: read from the back of a room at 1024x768. Metric values are set on their inner
# markdown too: the generic paragraph rule once shrank them from 36 to 21 px (issue 10).
PROJECTOR_CSS = """<style>
[data-testid="stMain"] p, [data-testid="stMain"] label, [data-testid="stMain"] li { font-size: 1.45rem !important; }
[data-testid="stMain"] h1 { font-size: 3rem !important; }
[data-testid="stMain"] h2, [data-testid="stMain"] h3 { font-size: 2.1rem !important; }
[data-testid="stMain"] [data-testid="stMetricValue"], [data-testid="stMain"] [data-testid="stMetricValue"] * {
  font-size: 3rem !important; line-height: 1.2 !important; }
[data-testid="stMain"] [data-testid="stMetricLabel"], [data-testid="stMain"] [data-testid="stMetricLabel"] * {
  font-size: 1.4rem !important; }
[data-testid="stMainBlockContainer"] { padding: 3.5rem 1.5rem 4rem 1.5rem !important; max-width: 100% !important; }
</style>"""
# The Start/Stop bar stays in view while the learner scrolls the setup or the results.
RUNBAR_CSS = """<style>
/* Sticky on the bar's layout wrapper: the bar alone is exactly as tall as its wrapper, so it had
   no room to stick in; the wrapper's parent is the whole page. */
[data-testid="stLayoutWrapper"]:has(> .st-key-lab_runbar) { position: sticky; top: 3.75rem; z-index: 50; }
.st-key-lab_runbar { background-color: rgb(255 255 255 / 0.97); border-bottom: 1px solid rgba(49,51,63,0.2);
  padding: 0.4rem 0; }
/* On a phone the estimate leaves the sticky bar (there it took three lines, a fifth of the screen) for
   the line below it, which scrolls away with the page. */
[data-testid="stLayoutWrapper"]:has(> .st-key-lab_est_narrow) { display: none; }
@media (max-width: 640px) {
  [data-testid="stLayoutWrapper"]:has(> .st-key-lab_est_narrow) { display: flex; }
  [data-testid="stLayoutWrapper"]:has(> .st-key-lab_est_wide) { display: none; }
}
</style>"""

ss = st.session_state
manager = live.attach_session()

# ---- state: defaults, then any link this page did not write itself ------------------------------------
S.init_state(ss)
link_params = dict(st.query_params.to_dict())
if links.is_new_link(link_params, ss.get(S.LAST_QUERY), ss.get(S.WRITTEN, ()), arrived_from_another_page()):
    report = S.load_link(ss, link_params)
else:
    report = None

projector = bool(ss.get(S.K_PRESENTER))
advanced = not projector
# The browser re-applies the sidebar state whenever this value changes (unless the learner has used
# the » toggle, whose choice it keeps), so leaving projector mode brings the sidebar back too.
st.set_page_config(initial_sidebar_state="collapsed" if projector else "auto")
if projector:
    st.html(PROJECTOR_CSS)
st.html(RUNBAR_CSS)

head, mode = st.columns([3, 1], vertical_alignment="bottom")
head.title("🧪 Lab")
mode.toggle(
    "Projector mode",
    key=S.K_PRESENTER,
    help="For a class: large type and charts, one chart at a time, the demos with predictions; "
    "advanced controls hidden. The mode is in the address, so a link opens in it.",
)
if report is not None:
    for note in report.ignored:
        st.warning(f"Ignored the link parameter {md_text(note)}.", icon="🔗")  # the address's own text
    if report.loaded:
        what = (
            f"Loaded **{PRESETS[report.preset].title}** from the link" if report.preset else "Loaded the link's setup"
        )
        if report.changes:
            st.info(f"{what}. Changed: " + "; ".join(report.changes) + ".", icon="🔗")
        elif report.preset or not report.ignored:  # a link whose every setting was ignored loaded nothing
            st.info(f"{what}: the form already had these settings.", icon="🔗")
        for note in report.rounded:
            st.warning(
                f"Rounded a link value: {note}. A control shows only its steps, and the Lab trains "
                f"exactly what the form shows.",
                icon="🔗",
            )
snaps = live.current_snapshots(manager)
running = any(s.active for s in snaps)
ss[S.FORM_SHOWN] = not running  # the next run restores a form this one hides (S.restore_hidden_form)
# In projector mode, once a run has started, the run and its result come first: at 1024x768 the
# introduction and the open demos list pushed the live chart below the fold and the result 3,000 px down.
run_on_show = bool(snaps or ss.get(live.REPLAY) or ss.get(live.CURRENT))
if not (projector and run_on_show):
    st.markdown(
        "Choose data, a pretrained model and **which layers train**, then watch the curves. "
        "Every setting is in the page address: copy it to share this exact setup."
    )
if projector and not run_on_show:
    demos.demo_list(expanded=True)


def current_config():
    """The form as a TrainConfig, or None (with the reason shown) when it cannot run."""
    try:
        cfg = S.config_from_state(ss)
        cfg.validate()
        return cfg
    except (ConfigError, ValueError) as exc:
        st.error(str(exc), icon="⚙️")
        return None


def start_clicked(data) -> None:
    """Start's callback. It runs before the page, so the click's own page run already draws the live
    view: one run of the page, not the form and then a rerun (each costs the browser a redraw, on a
    small machine CPU taken from the training). `data`: the uploaded images the button was drawn with."""
    cfg = S.config_from_state(ss)  # valid: the button is drawn for a valid form only
    if cfg.dataset == links.UPLOAD and data is None:
        live.refuse("Upload a zip of class folders first (or pick another dataset).", "🗂️")
    else:
        live.submit([("", cfg)], data=data)


def show_last_run() -> None:
    """Where the live view was: the outcome and results of the latest run, or a stored demo's replay."""
    replay = ss.get(live.REPLAY)
    if replay:
        demos.show_replay(*replay, projector=projector)
    elif snaps:
        live.collect_ended(snaps)
        live.store_finished_demo(snaps)
        ended.show_ended(snaps, projector, reveal=demos.reveal_for(snaps))
    elif ss.get(live.CURRENT):
        st.info("The record of your last run has expired on the server; your history below keeps its numbers.")
    else:
        return
    st.divider()


if running:
    # While a run trains, the form gives way to what is running: a change would only apply to the
    # next run, and the page the browser redraws every second stays small (on a small machine that
    # redraw takes CPU from the training). The widget values wait in S.SAVED (S.init_state).
    running_cfg = next(s for s in snaps if s.active).config
    st.markdown("**This run:** " + links.describe_run(running_cfg, short=projector))
    if not projector:
        st.caption("The setup comes back below the results when the run ends; press Stop to change it now.")
    live.live_view(projector)
else:
    bar = st.container(key="lab_runbar")
    estimate_below_bar = st.container(key="lab_est_narrow")
    show_last_run()  # in the live view's place, so the end of a run does not move the learner's eyes
    # ---- setup ---------------------------------------------------------------------------------------
    setup.preset_picker(projector)
    pid = ss.get(S.K_PRESET)
    if pid in PRESETS and len(PRESETS[pid].runs) > 1 and not projector:
        demos.demo_controls(pid, key="lab")

    col_data, col_model = st.columns(2)
    with col_data:
        st.subheader("Data")
        data, num_classes = setup.data_section(advanced)
    with col_model:
        st.subheader("Model")
        setup.model_section(advanced)

    st.subheader("Layers")
    setup.layers_section(num_classes, projector)

    col_lr, col_train = st.columns(2)
    with col_train:
        st.subheader("Training")
        setup.training_section(advanced)
    with col_lr:
        st.subheader("Learning rate")
        setup.lr_section(advanced, current_config, data)

    cfg = current_config()
    preview.preview_section(cfg, projector)  # head only: the curves at once (ui/lab/preview.py)
    if cfg is not None and advanced:  # "Code for this setup" (ui/lab/code.py); not in projector mode
        code.code_section(cfg, ss.get(S.K_PRESET))

    # ---- the sticky Start bar ------------------------------------------------------------------------
    with bar:
        live.show_refusal()
        if cfg is not None:
            go, note = st.columns([1, 4], vertical_alignment="center")
            with note.container(key="lab_est_wide"):
                setup.estimate_caption(cfg, num_classes, short=projector)
            with estimate_below_bar:
                setup.estimate_caption(cfg, num_classes, short=True)
            go.button(
                "Start training",
                key="lab_start",
                type="primary",
                icon="▶️",
                width="stretch",
                on_click=start_clicked,
                args=(data,),
            )
        else:
            st.caption("⚙️ Fix the setting named in red below the layers to start.")

if projector and run_on_show:  # folded, below the run: the result stays in view after a demo
    demos.demo_list(expanded=False)

# ---- the learner's earlier runs ------------------------------------------------------------------------
live.collect_all(manager)
history.show_history(projector)

# ---- mirror the setup (and the mode) into the URL, and keep it across page changes --------------------
S.mirror_to_url(ss, st.query_params)
S.save_state(ss)
