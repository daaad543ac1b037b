"""Real data: small sets bundled with scikit-learn, and a checksummed download cache for the big ones.

* **Bundled** (offline; tests and laptop-scale notebooks): :func:`load_bundled` returns the copies of classic
  data sets that ship inside scikit-learn as float64 arrays, optionally standardized.
* **Remote** (GPU-scale labs): :data:`REMOTE_DATASETS` lists every file with its URL(s), size, licence and a
  checksum copied from a published source. :func:`fetch` downloads a file once, verifies it, and from then on
  works with the network cut. Nothing here touches the network at import time.

The cache is ``$OPTM_DATA_DIR`` if set, else ``~/.cache/optimization_methods``. A file copied there by hand,
as ``<cache>/<data set>/<file name>``, is used as long as its checksum matches.
"""
from __future__ import annotations

import hashlib
import http.client
import os
import pickle
import tarfile
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["Dataset", "load_bundled", "standardize_columns", "RemoteFile", "RemoteDataset", "REMOTE_DATASETS",
           "DatasetUnavailableError", "ChecksumError", "data_dir", "file_digest", "fetch", "read_idx",
           "read_cifar_batch", "read_cifar10_archive", "load_mnist", "load_cifar10", "load_tiny_shakespeare"]


# ---------------------------------------------------------------- bundled (offline) ---------------------------
@dataclass(frozen=True)
class Dataset:
    """Design matrix ``X`` (n × d, float64), targets ``y``, and where they come from.

    Unpacks like a pair: ``X, y = load_bundled("iris")``.
    """
    X: np.ndarray
    y: np.ndarray
    name: str
    description: str
    source: str

    def __iter__(self):
        return iter((self.X, self.y))


_BUNDLED = {  # name: (scikit-learn loader, task, description)
    "breast_cancer": ("load_breast_cancer", "binary", "Wisconsin diagnostic breast cancer: 569 tumours x 30 "
                      "features; y = +1 benign, -1 (or 0) malignant."),
    "digits": ("load_digits", "multiclass", "Handwritten digits: 1797 images of 8x8 grey levels 0-16 "
               "(64 features); classes 0-9."),
    "diabetes": ("load_diabetes", "regression", "Diabetes: 442 patients x 10 baseline features (age, sex, "
                 "BMI, blood pressure, six serum measurements); y = disease progression one year later."),
    "wine": ("load_wine", "multiclass", "Wine recognition: 178 wines x 13 chemical measurements; 3 cultivars."),
    "iris": ("load_iris", "multiclass", "Fisher's iris: 150 flowers x 4 measurements (cm); 3 species."),
}


def standardize_columns(X):
    """Return ``(X − mean) / std`` column by column (population std, ``ddof=0``), as float64.

    A column with zero variance (the always-blank border pixels of ``digits``) is only centred, i.e. becomes
    all zeros, instead of being divided by 0.
    """
    X = np.asarray(X, dtype=np.float64)
    constant = np.ptp(X, axis=0) == 0
    Z = (X - X.mean(axis=0)) / np.where(constant, 1.0, X.std(axis=0))
    return np.where(constant, 0.0, Z)


def load_bundled(name, *, standardize=True, binary_labels="pm1"):
    """Load a data set shipped with scikit-learn: ``breast_cancer``, ``digits``, ``diabetes``, ``wine``, ``iris``.

    ``X`` is float64; with ``standardize=True`` every column has mean 0 and variance 1 (constant columns are
    only centred, see :func:`standardize_columns`); ``diabetes`` is read unscaled, so ``standardize=False``
    gives the raw measurements. ``y`` is float64 for regression and for the binary task, where
    ``binary_labels="pm1"`` gives y ∈ {−1, +1} (for the logistic loss ∑ log(1 + exp(−y aᵀx))) and ``"01"``
    gives y ∈ {0, 1}; multiclass labels are int64 class indices.
    """
    if name not in _BUNDLED:
        raise ValueError(f"name={name!r} is not a bundled data set; choose one of {sorted(_BUNDLED)}")
    if binary_labels not in ("pm1", "01"):
        raise ValueError(f"binary_labels={binary_labels!r}; use 'pm1' for {{-1, +1}} or '01' for {{0, 1}}")
    import sklearn.datasets

    loader, task, description = _BUNDLED[name]
    bunch = getattr(sklearn.datasets, loader)(**({"scaled": False} if name == "diabetes" else {}))
    X = standardize_columns(bunch.data) if standardize else np.asarray(bunch.data, dtype=np.float64)
    y = np.asarray(bunch.target)
    if task == "binary":
        y = (2.0 * y - 1.0) if binary_labels == "pm1" else y.astype(np.float64)
    else:
        y = y.astype(np.float64 if task == "regression" else np.int64)
    return Dataset(X, y, name, description, f"sklearn.datasets.{loader}() (bundled with scikit-learn)")


# ---------------------------------------------------------------- remote (downloaded once) --------------------
@dataclass(frozen=True)
class RemoteFile:
    """One downloadable file: mirrors tried in order, the published ``(algorithm, hex digest)``, and its size."""
    filename: str
    urls: tuple
    checksum: tuple  # (hashlib algorithm name, hex digest), e.g. ("sha256", "86c4…")
    size: int | None = None  # bytes


@dataclass(frozen=True)
class RemoteDataset:
    name: str
    files: tuple
    license: str
    citation: str
    checksum_source: str  # where the digests were published


_MNIST_SHA256 = {  # (size in bytes, sha256)
    "train-images-idx3-ubyte.gz": (9912422, "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"),
    "train-labels-idx1-ubyte.gz": (28881, "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"),
    "t10k-images-idx3-ubyte.gz": (1648877, "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"),
    "t10k-labels-idx1-ubyte.gz": (4542, "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"),
}
_MNIST_MIRRORS = ("https://storage.googleapis.com/cvdf-datasets/mnist/",
                  "https://ossci-datasets.s3.amazonaws.com/mnist/")

REMOTE_DATASETS = {
    "mnist": RemoteDataset(
        "mnist",
        tuple(RemoteFile(f, tuple(m + f for m in _MNIST_MIRRORS), ("sha256", h), n)
              for f, (n, h) in _MNIST_SHA256.items()),
        license="CC BY-SA 3.0 (Yann LeCun and Corinna Cortes)",
        citation="Y. LeCun, L. Bottou, Y. Bengio, P. Haffner. Gradient-based learning applied to document "
                 "recognition. Proc. IEEE 86(11), 1998. http://yann.lecun.com/exdb/mnist/",
        checksum_source="SHA-256 and sizes: tensorflow/datasets, tensorflow_datasets/url_checksums/mnist.txt "
                        "(cvdf-datasets mirror). Same files' MD5s (f68b3c2d…, d53e105e…, 9fb629c4…, ec29112d…) "
                        "in torchvision/datasets/mnist.py, whose mirror is ossci-datasets."),
    "cifar10": RemoteDataset(
        "cifar10",
        (RemoteFile("cifar-10-python.tar.gz", ("https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",),
                    ("sha256", "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"), 170498071),),
        license="No licence stated; the authors ask that the technical report below be cited.",
        citation="A. Krizhevsky. Learning Multiple Layers of Features from Tiny Images. Tech. report, "
                 "University of Toronto, 2009. https://www.cs.toronto.edu/~kriz/cifar.html",
        checksum_source="SHA-256: tensorflow/datasets url_checksums/cifar10.csv and the file_hash in "
                        "tf.keras.datasets.cifar10.load_data. The official page's MD5 "
                        "c58f30108f718f92721af3b95e74349a (also in torchvision/datasets/cifar.py) is the same file."),
    "tiny_shakespeare": RemoteDataset(
        "tiny_shakespeare",
        (RemoteFile("input.txt",
                    ("https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt",),
                    ("sha256", "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"), 1115394),),
        license="Shakespeare's text is in the public domain; the char-rnn repository is MIT-licensed.",
        citation="A. Karpathy. char-rnn, 2015. https://github.com/karpathy/char-rnn",
        checksum_source="SHA-256 and size: tensorflow/datasets, "
                        "tensorflow_datasets/datasets/tiny_shakespeare/checksums.tsv"),
}


class DatasetUnavailableError(OSError):
    """No copy of a remote file could be obtained: every URL failed (usually: the machine is offline)."""


class ChecksumError(ValueError):
    """A downloaded file's digest differs from the published one (the file is discarded)."""


_NETWORK_ERRORS = (urllib.error.URLError, TimeoutError, ConnectionError, http.client.HTTPException)


def data_dir(cache_dir=None):
    """The cache directory: ``cache_dir`` if given, else ``$OPTM_DATA_DIR``, else ``~/.cache/optimization_methods``."""
    return Path(cache_dir or os.environ.get("OPTM_DATA_DIR") or "~/.cache/optimization_methods").expanduser()


def file_digest(path, algorithm="sha256"):
    """Hex digest of a file, read in 1 MiB chunks; ``algorithm`` is any :func:`hashlib.new` name."""
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _download(url, out, algorithm, progress, timeout, size):
    """Stream ``url`` into the open file ``out``; return the digest of what was written."""
    h, bar = hashlib.new(algorithm), None
    with urllib.request.urlopen(url, timeout=timeout) as response:
        if progress:
            from tqdm.auto import tqdm
            total = int(response.headers.get("Content-Length") or 0) or size
            bar = tqdm(total=total, unit="B", unit_scale=True, desc=url.rsplit("/", 1)[-1])
        try:
            for chunk in iter(lambda: response.read(1 << 20), b""):
                out.write(chunk)
                h.update(chunk)
                if bar is not None:
                    bar.update(len(chunk))
        finally:
            if bar is not None:
                bar.close()
    return h.hexdigest()


def _fetch_file(rf, folder, progress, timeout):
    algorithm, expected = rf.checksum
    dest = folder / rf.filename
    if dest.is_file() and file_digest(dest, algorithm) == expected:
        return dest  # verified cache hit: no network
    folder.mkdir(parents=True, exist_ok=True)
    failures = []
    for url in rf.urls:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{rf.filename}.", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as out:
                try:
                    actual = _download(url, out, algorithm, progress, timeout, rf.size)
                except _NETWORK_ERRORS as err:
                    failures.append(f"{url} ({err})")
                    continue
            if actual != expected:
                raise ChecksumError(f"{rf.filename} downloaded from {url} has {algorithm} {actual}, expected "
                                    f"{expected}; the download was discarded.")
            os.replace(tmp, dest)  # atomic: the final name only ever holds a verified file
            return dest
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    raise DatasetUnavailableError(
        f"Could not download {rf.filename}: this machine seems to be offline. Tried: {'; '.join(failures)}. "
        f"To use it offline, copy the file by hand to {dest} (it must have {algorithm} {expected}), "
        f"or point OPTM_DATA_DIR at a directory holding <data set>/{rf.filename}.")


def fetch(name, *, cache_dir=None, progress=True, timeout=60.0):
    """Return the cached, checksum-verified file(s) of ``REMOTE_DATASETS[name]``, downloading what is missing.

    A cached file whose checksum verifies is returned without touching the network. Otherwise each URL is tried
    in turn, streamed (with a ``tqdm`` bar if ``progress``) into a temporary file beside the target, verified,
    and moved into place with :func:`os.replace`; on any failure the temporary file is removed. Returns a
    :class:`~pathlib.Path` for a one-file data set, else a dict ``{file name: Path}``.

    Raises :class:`ChecksumError` on a digest mismatch and :class:`DatasetUnavailableError` (an ``OSError``)
    when no URL can be reached.
    """
    if name not in REMOTE_DATASETS:
        raise ValueError(f"name={name!r} is not a registered data set; choose one of {sorted(REMOTE_DATASETS)}")
    entry = REMOTE_DATASETS[name]
    folder = data_dir(cache_dir) / name
    paths = {rf.filename: _fetch_file(rf, folder, progress, timeout) for rf in entry.files}
    return next(iter(paths.values())) if len(paths) == 1 else paths


# ---------------------------------------------------------------- parsers and loaders -------------------------
_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path):
    """Read an IDX file (the MNIST format), gzip-compressed or not, into a native-endian NumPy array.

    Layout: two zero bytes, a type byte (0x08 = uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32,
    0x0E float64), the number of dimensions d, d big-endian uint32 sizes, then the data in C order, big-endian.
    """
    raw = Path(path).read_bytes()
    if raw[:2] == b"\x1f\x8b":
        import gzip
        raw = gzip.decompress(raw)
    if len(raw) < 4 or raw[:2] != b"\0\0" or raw[2] not in _IDX_TYPES:
        raise ValueError(f"{path} is not an IDX file (header {raw[:4].hex()})")
    ndim, dtype = raw[3], np.dtype(_IDX_TYPES[raw[2]])
    shape = tuple(int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
    data = np.frombuffer(raw, dtype=dtype, offset=4 + 4 * ndim)
    if data.size != int(np.prod(shape)):
        raise ValueError(f"{path}: header says shape {shape} but holds {data.size} values")
    return data.reshape(shape).astype(dtype.newbyteorder("="))


def read_cifar_batch(fileobj):
    """One pickled CIFAR-10 batch → ``(X (n, 32, 32, 3) uint8, y (n,) int64)``.

    Each row of ``data`` holds 3072 bytes: the 1024 red, then green, then blue values, each 32×32 row-major.
    Unpickling runs code from the file, so read only trusted files (:func:`fetch` verifies the checksum first).
    """
    batch = pickle.load(fileobj, encoding="latin1")
    X = np.asarray(batch["data"], dtype=np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(X), np.asarray(batch["labels"], dtype=np.int64)


def read_cifar10_archive(path):
    """Read ``cifar-10-python.tar.gz`` in place → ``(X_train, y_train), (X_test, y_test)`` (50000 / 10000)."""
    with tarfile.open(path, "r:gz") as tar:
        def read(member):
            return read_cifar_batch(tar.extractfile(f"cifar-10-batches-py/{member}"))
        train = [read(f"data_batch_{i}") for i in range(1, 6)]
        test = read("test_batch")
    return (np.concatenate([X for X, _ in train]), np.concatenate([y for _, y in train])), test


def load_mnist(*, cache_dir=None, progress=True):
    """MNIST as uint8: ``(X_train (60000, 28, 28), y_train (60000,)), (X_test (10000, 28, 28), y_test)``."""
    p = fetch("mnist", cache_dir=cache_dir, progress=progress)
    pair = lambda s: (read_idx(p[f"{s}-images-idx3-ubyte.gz"]), read_idx(p[f"{s}-labels-idx1-ubyte.gz"]))  # noqa: E731
    return pair("train"), pair("t10k")


def load_cifar10(*, cache_dir=None, progress=True):
    """CIFAR-10: ``(X_train (50000, 32, 32, 3) uint8, y_train int64), (X_test (10000, 32, 32, 3), y_test)``."""
    return read_cifar10_archive(fetch("cifar10", cache_dir=cache_dir, progress=progress))


def load_tiny_shakespeare(*, cache_dir=None, progress=True):
    """TinyShakespeare (char-rnn's ``input.txt``) as one string of 1,115,394 characters."""
    return fetch("tiny_shakespeare", cache_dir=cache_dir, progress=progress).read_text(encoding="utf-8")
