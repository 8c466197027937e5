"""The ELPV solar-cell dataset and the install-on-first-use machinery behind it.

The loader tests use the real package (requirements-dev.txt installs it). The install tests run the
real pip in a subprocess: a tiny wheel built here is installed from a local folder into a temporary
FTLAB_PACKAGES_DIR (nothing is added to the test environment), and "offline" is an index on a
closed local port, so pip's own connection error is what the message is built from.
"""
import base64
import hashlib
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from core.data import datasets as data
from core.data import optional_data, sources
from core.data.optional_data import DatasetUnavailable, OptionalPackage
from tests.helpers import lab_page, run_ok

PROBE_VERSION = "1.0"


def _probe(name: str) -> OptionalPackage:
    return OptionalPackage(name, name.replace("-", "_"), f"=={PROBE_VERSION}", "a tiny test package")


def build_wheel(folder: Path, pkg: OptionalPackage) -> Path:
    """A minimal valid wheel for `pkg` (one module), so pip can install it with no index."""
    dist = f"{pkg.module}-{PROBE_VERSION}"
    files = {
        f"{pkg.module}/__init__.py": "ANSWER = 42\n",
        f"{dist}.dist-info/METADATA": f"Metadata-Version: 2.1\nName: {pkg.pip_name}\nVersion: {PROBE_VERSION}\n",
        f"{dist}.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: ftlab-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = []
    for name, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        record.append(f"{name},sha256={digest},{len(text.encode())}")
    files[f"{dist}.dist-info/RECORD"] = "\n".join(record + [f"{dist}.dist-info/RECORD,,"]) + "\n"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{dist}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as zf:
        for name, text in files.items():
            zf.writestr(name, text)
    return path


@pytest.fixture
def local_index(tmp_path, monkeypatch):
    """pip reads only a local folder of wheels and installs into a temporary packages dir."""
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")  # no site-wide index or find-links
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path / "wheels"))
    monkeypatch.setenv("FTLAB_PACKAGES_DIR", str(tmp_path / "packages"))
    monkeypatch.setattr(sys, "path", list(sys.path))  # the packages dir is added; undone after the test
    return tmp_path / "wheels"


@pytest.fixture
def offline(tmp_path, monkeypatch):
    """pip's only index is a closed port on this machine: a connection error, as with no network."""
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple")
    monkeypatch.delenv("PIP_FIND_LINKS", raising=False)
    monkeypatch.delenv("PIP_NO_INDEX", raising=False)
    monkeypatch.setenv("FTLAB_PACKAGES_DIR", str(tmp_path / "packages"))
    monkeypatch.setattr(sys, "path", list(sys.path))


# ---- classes from the four defect levels -----------------------------------------------------------

def test_defect_levels_merge_into_two_balanced_classes_with_the_same_type_mix():
    probs = np.array([0.0] * 30 + [1 / 3] * 10 + [2 / 3] * 4 + [1.0] * 12 + [0.0] * 20 + [1.0] * 8)
    types = np.array(["mono"] * 56 + ["poly"] * 28)
    idx, labels = sources.elpv_labels(probs, types)
    assert not np.isclose(probs[idx], 1 / 3).any()  # the uncertain level is left out
    assert labels.tolist() == (probs[idx] > 0.5).astype(int).tolist()
    for kind, n in (("mono", 16), ("poly", 8)):  # per type, as many functional as defective cells
        assert np.bincount(labels[types[idx] == kind]).tolist() == [n, n]
    again, _ = sources.elpv_labels(probs, types)
    assert np.array_equal(idx, again)  # a fixed subset: the dataset is the same on every machine


def test_real_elpv_set_has_821_images_per_class_read_as_300px_grey():
    raw = data.load_raw("elpv")
    assert raw.class_names == ["functional", "defective"]
    assert np.bincount(raw.labels).tolist() == [821, 821]
    img = raw.read(0)
    assert img.shape == (300, 300) and img.dtype == np.uint8 and img.std() > 5  # a real photo, not blank


def test_elpv_prepares_balanced_three_channel_tensors_with_a_seeded_split():
    a = data.prepare("elpv", per_class=20, val_per_class=50, size=64, seed=0)
    assert a.train_x.shape == (40, 3, 64, 64) and a.val_x.shape == (100, 3, 64, 64)
    assert a.train_y.bincount().tolist() == [20, 20] and a.val_y.bincount().tolist() == [50, 50]
    assert torch.equal(a.train_x[:, 0], a.train_x[:, 1]) and torch.equal(a.train_x[:, 0], a.train_x[:, 2])
    data.PREPARED_CACHE.clear()
    b = data.prepare("elpv", per_class=20, val_per_class=50, size=64, seed=0)
    assert a is not b and torch.equal(a.train_x, b.train_x) and torch.equal(a.val_x, b.val_x)
    c = data.prepare("elpv", per_class=20, val_per_class=50, size=64, seed=1)
    assert not torch.equal(a.train_x, c.train_x)


def test_elpv_is_optional_and_never_the_default():
    spec = data.DATASETS["elpv"]
    assert spec.package is data.ELPV_PACKAGE and data.DEFAULT_DATASET != "elpv"
    assert "CC BY-NC-SA 4.0" in spec.licence and "non-commercial" in spec.licence
    assert "github.com/zae-bayern/elpv-dataset" in spec.licence
    runtime = (Path(__file__).resolve().parents[1] / "requirements.txt").read_text()
    assert "elpv" not in runtime


# ---- install on first use --------------------------------------------------------------------------

def test_install_runs_pip_and_reports_its_lines(local_index):
    pkg = _probe("ftlab-probe-ok")
    build_wheel(local_index, pkg)
    assert not optional_data.is_installed(pkg)
    lines = []
    optional_data.install(pkg, on_line=lines.append)
    assert optional_data.is_installed(pkg)
    assert optional_data.import_module(pkg).ANSWER == 42
    assert any("Successfully installed ftlab-probe-ok" in ln for ln in lines), lines


def test_a_page_rerun_during_install_lets_pip_finish(local_index):
    pkg = _probe("ftlab-probe-rerun")
    build_wheel(local_index, pkg)

    def rerun(line):  # what Streamlit does to a script thread when the learner clicks meanwhile
        raise KeyboardInterrupt("rerun")

    with pytest.raises(KeyboardInterrupt):
        optional_data.install(pkg, on_line=rerun)
    assert optional_data.is_installed(pkg)  # pip was not left half-way with the lock released


def test_offline_install_says_what_happened_and_the_exact_command(offline):
    pkg = _probe("ftlab-probe-offline")
    with pytest.raises(DatasetUnavailable) as e:
        optional_data.install(pkg)
    msg = str(e.value)
    assert "could not be reached" in msg and "offline" in msg
    assert f"`{sys.executable} -m pip install --target" in msg and "ftlab-probe-offline==1.0`" in msg
    assert not optional_data.is_installed(pkg)


def test_missing_package_names_the_command_instead_of_an_import_error(offline):
    with pytest.raises(DatasetUnavailable, match=r"not installed\. Pick it in the Lab.*pip install"):
        optional_data.import_module(_probe("ftlab-probe-absent"))


# ---- the Lab's picker ------------------------------------------------------------------------------

@pytest.fixture
def probe_dataset(monkeypatch):
    """The Lab's ELPV entry, its package swapped for a probe that is not installed."""
    spec = data.DATASETS["elpv"]
    pkg = _probe("ftlab-probe-lab")
    monkeypatch.setitem(data.DATASETS, "elpv", data.DatasetSpec(
        spec.name, spec.title, spec.offline, spec.description, spec.load, pkg, spec.licence))
    return pkg


def _pick_elpv():
    at = run_ok(lab_page())
    at.selectbox(key="lab_dataset").set_value("elpv")
    return run_ok(at)


def test_lab_shows_the_licence_where_elpv_is_picked(tmp_path, monkeypatch):
    monkeypatch.setenv("FTLAB_DB", str(tmp_path / "progress.sqlite3"))
    at = _pick_elpv()
    assert any("CC BY-NC-SA 4.0" in c.value and "non-commercial" in c.value for c in at.caption)
    assert not at.error


def test_lab_installs_a_missing_package_on_first_pick(local_index, probe_dataset, tmp_path, monkeypatch):
    monkeypatch.setenv("FTLAB_DB", str(tmp_path / "progress.sqlite3"))
    build_wheel(local_index, probe_dataset)
    at = run_ok(lab_page())
    assert "installs on first use" in at.selectbox(key="lab_dataset").format_func("elpv")
    at.selectbox(key="lab_dataset").set_value("elpv")
    run_ok(at)
    assert optional_data.is_installed(probe_dataset)
    assert any(s.label.startswith("Installed ftlab-probe-lab") for s in at.get("status")), \
        [s.label for s in at.get("status")]
    assert not at.error


def test_lab_offline_install_fails_with_the_command_and_a_retry(offline, probe_dataset, tmp_path, monkeypatch):
    monkeypatch.setenv("FTLAB_DB", str(tmp_path / "progress.sqlite3"))
    at = _pick_elpv()
    errors = [e.value for e in at.error]
    assert any("could not be reached" in e and "-m pip install" in e for e in errors), errors
    run_ok(at)  # a rerun does not call pip again: the message stays, with a button to retry
    assert any("could not be reached" in e.value for e in at.error)
    at.button(key="lab_install_retry").click()
    run_ok(at)  # the retry runs pip again, still offline: the same clear message, no traceback
    assert any("could not be reached" in e.value for e in at.error)
    assert not optional_data.is_installed(probe_dataset)


# ---- who may make the server run pip ------------------------------------------------------------

def _from_another_machine(monkeypatch):
    import ui.common

    monkeypatch.setattr(ui.common, "client_address", lambda: "10.0.0.7")


def test_a_learner_on_another_machine_cannot_make_the_server_run_pip(local_index, probe_dataset, tmp_path,
                                                                    monkeypatch):
    monkeypatch.setenv("FTLAB_DB", str(tmp_path / "progress.sqlite3"))
    monkeypatch.delenv("FTLAB_ALLOW_INSTALL", raising=False)
    build_wheel(local_index, probe_dataset)
    _from_another_machine(monkeypatch)
    at = _pick_elpv()
    errors = [e.value for e in at.error]
    assert any("FTLAB_ALLOW_INSTALL=1" in e and "-m pip install" in e for e in errors), errors
    assert not optional_data.is_installed(probe_dataset)  # pip never ran
    monkeypatch.setenv("FTLAB_ALLOW_INSTALL", "1")  # the operator allows it
    at = _pick_elpv()
    assert optional_data.is_installed(probe_dataset)
    assert not at.error


def test_FTLAB_ALLOW_INSTALL_0_refuses_even_on_the_servers_own_machine(local_index, probe_dataset, tmp_path,
                                                                     monkeypatch):
    monkeypatch.setenv("FTLAB_DB", str(tmp_path / "progress.sqlite3"))
    monkeypatch.setenv("FTLAB_ALLOW_INSTALL", "0")
    build_wheel(local_index, probe_dataset)
    at = _pick_elpv()  # AppTest is a local session (no address), like a browser on the server's machine
    assert any("FTLAB_ALLOW_INSTALL=1" in e.value for e in at.error), [e.value for e in at.error]
    assert not optional_data.is_installed(probe_dataset)


def test_install_permission_by_setting_and_by_where_the_click_came_from(monkeypatch):
    pkg = _probe("ftlab-probe-rule")
    for value, local, remote in (("", True, False), ("1", True, True), ("0", False, False)):
        monkeypatch.setenv("FTLAB_ALLOW_INSTALL", value)
        assert (optional_data.install_refusal(pkg, from_server_machine=True) is None) == local, value
        assert (optional_data.install_refusal(pkg, from_server_machine=False) is None) == remote, value
