"""Datasets: registry, stratified seeded split, preparation, and own-folder errors."""
import numpy as np
import pytest
from PIL import Image

from core.data import datasets as data
from core.data import uploads
from core.data.imagefiles import DataError
from core.data.optional_data import DatasetUnavailable


def test_split_is_stratified_and_seeded():
    labels = np.repeat(np.arange(4), 30)
    tr1, va1, _ = data.stratified_split(labels, per_class=10, val_per_class=5, seed=3)
    tr2, va2, _ = data.stratified_split(labels, per_class=10, val_per_class=5, seed=3)
    tr3, _, _ = data.stratified_split(labels, per_class=10, val_per_class=5, seed=4)
    assert np.array_equal(tr1, tr2) and np.array_equal(va1, va2)
    assert not np.array_equal(tr1, tr3)
    assert np.bincount(labels[tr1]).tolist() == [10] * 4
    assert np.bincount(labels[va1]).tolist() == [5] * 4
    assert not set(tr1) & set(va1)


def test_validation_set_does_not_depend_on_images_per_class():
    labels = np.repeat(np.arange(3), 40)
    _, va_small, _ = data.stratified_split(labels, per_class=5, val_per_class=8, seed=0)
    _, va_big, _ = data.stratified_split(labels, per_class=30, val_per_class=8, seed=0)
    assert np.array_equal(va_small, va_big)


def test_prepare_gives_uint8_square_tensors():
    d = data.prepare("faces", per_class=6, val_per_class=4, size=32, seed=0)
    assert d.train_x.shape == (12, 3, 32, 32) and d.train_x.dtype.is_floating_point is False
    assert d.val_x.shape == (8, 3, 32, 32)
    assert d.train_y.bincount().tolist() == [6, 6]
    assert d.class_names == ["face", "not a face"]
    assert data.prepare("faces", per_class=6, val_per_class=4, size=32, seed=0) is d  # cached


@pytest.mark.parametrize("name", ["mnist", "textures", "faces", "digits"])
def test_offline_datasets_load(name):
    raw = data.load_raw(name)
    assert len(raw) > 100 and len(raw.class_names) >= 2
    assert data.DATASETS[name].num_classes == len(raw.class_names)  # the registry's count is the data's
    img = raw.read(0)
    assert img.dtype == np.uint8 and img.ndim in (2, 3)


def test_every_dataset_declares_its_class_count():
    assert all(spec.num_classes >= 2 for spec in data.DATASETS.values())


def test_online_dataset_offline_message(tmp_path, monkeypatch):
    monkeypatch.setenv("FTLAB_DATA_DIR", str(tmp_path))

    def no_network(root):
        raise OSError("[Errno 101] Network is unreachable")

    spec = data.DATASETS["cifar10"]
    monkeypatch.setitem(data.DATASETS, "cifar10", data.DatasetSpec(
        spec.name, spec.title, False, spec.description,
        data._torchvision_set("CIFAR10", no_network, "classes")))
    with pytest.raises(DatasetUnavailable, match="offline dataset"):
        data.DATASETS["cifar10"].load()


def _save(path, color=(255, 0, 0), size=(20, 20), mode="RGB"):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, color if mode == "RGB" else 128).save(path)


def test_own_folder_loads_and_skips_bad_files(tmp_path):
    for i in range(3):
        _save(tmp_path / "cats" / f"{i}.png")
        _save(tmp_path / "dogs" / f"{i}.png", color=(0, 0, 255))
    (tmp_path / "dogs" / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    (tmp_path / "dogs" / "notes.txt").write_text("hello")
    raw = uploads.folder_dataset(tmp_path)
    assert raw.class_names == ["cats", "dogs"] and len(raw) == 6
    assert any("broken.jpg" in s for s in raw.skipped) and any("notes.txt" in s for s in raw.skipped)
    prepared = data.prepare(raw, per_class=2, val_per_class=1, size=32)
    assert prepared.train_x.shape[0] == 4


def test_folder_with_one_class_is_refused(tmp_path):
    for i in range(3):
        _save(tmp_path / "only" / f"{i}.png")
    with pytest.raises(DataError, match="at least two classes"):
        uploads.folder_dataset(tmp_path)


def test_class_with_one_image_is_refused(tmp_path):
    _save(tmp_path / "a" / "1.png")
    _save(tmp_path / "b" / "1.png")
    _save(tmp_path / "b" / "2.png")
    with pytest.raises(DataError, match=r"a \(1\)"):
        uploads.folder_dataset(tmp_path)


def test_not_a_folder_and_no_class_folders(tmp_path):
    with pytest.raises(DataError, match="not a folder"):
        uploads.folder_dataset(tmp_path / "missing")
    _save(tmp_path / "loose.png")
    with pytest.raises(DataError, match="No class folders"):
        uploads.folder_dataset(tmp_path)


def test_bad_prepare_arguments():
    with pytest.raises(DataError, match="at least 1"):
        data.prepare("faces", per_class=0)
    with pytest.raises(DataError, match="out of range"):
        data.prepare("faces", size=4000)
    with pytest.raises(DataError, match="Unknown dataset"):
        data.prepare("imagenet-22k")
