"""Tests of utils.datasets: bundled loaders, the checksummed cache (via file:// URLs), and the file parsers.

Everything here runs offline; no test reaches the network.
"""
import gzip
import hashlib
import io
import os
import pickle
import re
import tarfile
import urllib.error
import urllib.request

import numpy as np
import pytest

from utils import datasets as ds


# ---------------------------------------------------------------- bundled -------------------------------------
@pytest.mark.parametrize("name, shape, n_classes", [
    ("breast_cancer", (569, 30), 2), ("digits", (1797, 64), 10), ("diabetes", (442, 10), None),
    ("wine", (178, 13), 3), ("iris", (150, 4), 3)])
def test_bundled_shapes_and_standardization(name, shape, n_classes):
    d = ds.load_bundled(name)
    assert d.X.shape == shape and d.X.dtype == np.float64 and d.y.shape == (shape[0],)
    assert d.name == name and d.description and "sklearn" in d.source
    np.testing.assert_allclose(d.X.mean(axis=0), 0.0, atol=1e-12)
    raw = ds.load_bundled(name, standardize=False).X
    varying = raw.std(axis=0) > 0
    np.testing.assert_allclose(d.X.std(axis=0)[varying], 1.0, rtol=1e-12)
    np.testing.assert_array_equal(d.X[:, ~varying], 0.0)  # constant columns: centred only
    if n_classes is None:
        assert d.y.dtype == np.float64
    else:
        assert len(np.unique(d.y)) == n_classes


def test_digits_has_constant_columns_that_stay_finite():
    d = ds.load_bundled("digits")
    assert np.isfinite(d.X).all()
    assert (ds.load_bundled("digits", standardize=False).X.std(axis=0) == 0).sum() > 0


def test_binary_labels_pm1_and_01():
    X, y = ds.load_bundled("breast_cancer")  # unpacks like a pair
    assert set(np.unique(y)) == {-1.0, 1.0} and y.dtype == np.float64
    y01 = ds.load_bundled("breast_cancer", binary_labels="01").y
    assert set(np.unique(y01)) == {0.0, 1.0}
    np.testing.assert_array_equal(y, 2 * y01 - 1)
    assert (y == 1).sum() == 357  # benign = +1


def test_raw_features_and_bad_arguments():
    np.testing.assert_allclose(ds.load_bundled("iris", standardize=False).X[0], [5.1, 3.5, 1.4, 0.2])
    with pytest.raises(ValueError, match="mnist"):
        ds.load_bundled("mnist")
    with pytest.raises(ValueError, match="binary_labels"):
        ds.load_bundled("breast_cancer", binary_labels="+-1")


# ---------------------------------------------------------------- registry ------------------------------------
_HEX_LEN = {"md5": 32, "sha1": 40, "sha256": 64}


@pytest.mark.parametrize("name", sorted(ds.REMOTE_DATASETS))
def test_registry_entries_are_complete(name):
    entry = ds.REMOTE_DATASETS[name]
    assert entry.name == name and entry.files and entry.license and entry.citation and entry.checksum_source
    for rf in entry.files:
        assert rf.filename and rf.urls and all(u.startswith("https://") for u in rf.urls)
        algorithm, digest = rf.checksum
        assert algorithm in _HEX_LEN and re.fullmatch(f"[0-9a-f]{{{_HEX_LEN[algorithm]}}}", digest)
        assert rf.size is None or rf.size > 0


def test_registry_has_the_required_sets():
    assert {"mnist", "cifar10", "tiny_shakespeare"} <= set(ds.REMOTE_DATASETS)
    assert len(ds.REMOTE_DATASETS["mnist"].files) == 4


# ---------------------------------------------------------------- fetch ---------------------------------------
@pytest.fixture
def local_entry(tmp_path, monkeypatch):
    """Register a one-file data set served from a file:// URL; return (payload path, cache dir)."""
    src = tmp_path / "server" / "payload.bin"
    src.parent.mkdir()
    src.write_bytes(b"optimization " * 1000)

    def register(algorithm="sha256", digest=None):
        digest = digest or hashlib.new(algorithm, src.read_bytes()).hexdigest()
        rf = ds.RemoteFile("payload.bin", (src.as_uri(),), (algorithm, digest), src.stat().st_size)
        monkeypatch.setitem(ds.REMOTE_DATASETS, "toy", ds.RemoteDataset("toy", (rf,), "CC0", "none", "test"))
        return rf

    return src, tmp_path / "cache", register


def _offline(*args, **kwargs):
    raise urllib.error.URLError("network is unreachable")


@pytest.mark.parametrize("algorithm", ["sha256", "md5"])
def test_fetch_downloads_verifies_and_then_works_offline(local_entry, monkeypatch, algorithm):
    src, cache, register = local_entry
    register(algorithm)
    path = ds.fetch("toy", cache_dir=cache, progress=False)
    assert path == cache / "toy" / "payload.bin" and path.read_bytes() == src.read_bytes()
    assert os.listdir(path.parent) == ["payload.bin"]  # no temporary file left behind
    monkeypatch.setattr(urllib.request, "urlopen", _offline)
    assert ds.fetch("toy", cache_dir=cache, progress=False) == path  # cache hit, no network


def test_fetch_with_progress_bar(local_entry):
    _, cache, register = local_entry
    register()
    assert ds.fetch("toy", cache_dir=cache, progress=True).is_file()


def test_cache_dir_from_environment(local_entry, monkeypatch):
    _, cache, register = local_entry
    register()
    monkeypatch.setenv("OPTM_DATA_DIR", str(cache))
    assert ds.data_dir() == cache
    assert ds.fetch("toy", progress=False) == cache / "toy" / "payload.bin"


def test_checksum_mismatch_raises_and_leaves_nothing(local_entry):
    src, cache, register = local_entry
    register(digest="0" * 64)
    with pytest.raises(ds.ChecksumError) as err:
        ds.fetch("toy", cache_dir=cache, progress=False)
    actual = hashlib.sha256(src.read_bytes()).hexdigest()
    assert "payload.bin" in str(err.value) and "0" * 64 in str(err.value) and actual in str(err.value)
    assert list((cache / "toy").iterdir()) == []


def test_corrupt_cached_file_is_replaced(local_entry):
    src, cache, register = local_entry
    register()
    (cache / "toy").mkdir(parents=True)
    (cache / "toy" / "payload.bin").write_bytes(b"truncated")
    assert ds.fetch("toy", cache_dir=cache, progress=False).read_bytes() == src.read_bytes()


def test_offline_raises_clear_error_naming_the_url(local_entry, monkeypatch):
    _, cache, register = local_entry
    rf = register()
    monkeypatch.setattr(urllib.request, "urlopen", _offline)
    with pytest.raises(ds.DatasetUnavailableError, match="offline") as err:
        ds.fetch("toy", cache_dir=cache, progress=False)
    assert isinstance(err.value, OSError)
    assert rf.urls[0] in str(err.value) and str(cache / "toy" / "payload.bin") in str(err.value)
    assert list((cache / "toy").iterdir()) == []


def test_fetch_unknown_name():
    with pytest.raises(ValueError, match="registered"):
        ds.fetch("imagenet")


# ---------------------------------------------------------------- parsers -------------------------------------
def _idx_bytes(array, type_code):
    header = bytes([0, 0, type_code, array.ndim]) + b"".join(n.to_bytes(4, "big") for n in array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def test_read_idx_images_and_labels(tmp_path):
    images = np.arange(3 * 28 * 28, dtype=np.uint8).reshape(3, 28, 28)
    labels = np.array([7, 0, 9], dtype=np.uint8)
    (tmp_path / "img-idx3-ubyte.gz").write_bytes(gzip.compress(_idx_bytes(images, 0x08)))
    (tmp_path / "lab-idx1-ubyte").write_bytes(_idx_bytes(labels, 0x08))
    np.testing.assert_array_equal(ds.read_idx(tmp_path / "img-idx3-ubyte.gz"), images)
    out = ds.read_idx(tmp_path / "lab-idx1-ubyte")
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out, labels)


def test_read_idx_big_endian_int32_and_bad_files(tmp_path):
    a = np.array([[1, -2, 70000], [3, 4, -5]], dtype=np.int32)
    (tmp_path / "a.idx").write_bytes(_idx_bytes(a, 0x0C))
    out = ds.read_idx(tmp_path / "a.idx")
    assert out.dtype == np.dtype("int32") and out.dtype.isnative
    np.testing.assert_array_equal(out, a)
    (tmp_path / "bad.idx").write_bytes(b"PK\x03\x04junk")
    with pytest.raises(ValueError, match="not an IDX"):
        ds.read_idx(tmp_path / "bad.idx")
    (tmp_path / "short.idx").write_bytes(_idx_bytes(a, 0x0C)[:-4])
    with pytest.raises(ValueError, match="shape"):
        ds.read_idx(tmp_path / "short.idx")


def _cifar_batch(rng, n):
    images = rng.integers(0, 256, size=(n, 32, 32, 3), dtype=np.uint8)
    data = images.transpose(0, 3, 1, 2).reshape(n, 3072)  # R plane, G plane, B plane, row-major
    labels = [int(v) for v in rng.integers(0, 10, size=n)]
    return images, labels, pickle.dumps({"batch_label": "batch", "data": data, "labels": labels}, protocol=2)


def test_read_cifar_batch_channel_layout():
    images, labels, blob = _cifar_batch(np.random.default_rng(0), 4)
    X, y = ds.read_cifar_batch(io.BytesIO(blob))
    assert X.shape == (4, 32, 32, 3) and X.dtype == np.uint8 and y.dtype == np.int64
    np.testing.assert_array_equal(X, images)
    np.testing.assert_array_equal(y, labels)
    raw = np.frombuffer(pickle.loads(blob)["data"].tobytes(), dtype=np.uint8)
    assert raw[0] == images[0, 0, 0, 0] and raw[1024] == images[0, 0, 0, 1] and raw[1] == images[0, 0, 1, 0]


def test_read_cifar10_archive(tmp_path):
    rng = np.random.default_rng(1)
    members, expected = {}, {}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        images, labels, blob = _cifar_batch(rng, 2)
        members[name], expected[name] = blob, (images, labels)
    path = tmp_path / "cifar-10-python.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for name, blob in members.items():
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))
    (X_train, y_train), (X_test, y_test) = ds.read_cifar10_archive(path)
    assert X_train.shape == (10, 32, 32, 3) and y_train.shape == (10,)
    np.testing.assert_array_equal(X_train[2:4], expected["data_batch_2"][0])
    np.testing.assert_array_equal(y_test, expected["test_batch"][1])
    np.testing.assert_array_equal(X_test, expected["test_batch"][0])


def test_loaders_read_from_a_prefilled_cache(tmp_path, monkeypatch):
    """load_tiny_shakespeare uses a hand-placed file when its checksum matches the registry entry."""
    text = "First Citizen:\nBefore we proceed any further, hear me speak.\n"
    rf = ds.RemoteFile("input.txt", ("https://example.invalid/input.txt",),
                       ("sha256", hashlib.sha256(text.encode()).hexdigest()), len(text))
    monkeypatch.setitem(ds.REMOTE_DATASETS, "tiny_shakespeare",
                        ds.RemoteDataset("tiny_shakespeare", (rf,), "PD", "none", "test"))
    (tmp_path / "tiny_shakespeare").mkdir()
    (tmp_path / "tiny_shakespeare" / "input.txt").write_text(text, encoding="utf-8")
    monkeypatch.setattr(urllib.request, "urlopen", _offline)
    assert ds.load_tiny_shakespeare(cache_dir=tmp_path) == text
