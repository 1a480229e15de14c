"""Unpack the packages a layer ships zipped, once per execution environment, before they are imported.

Lambda caps a function plus its layers at 250 MiB unzipped. numpy, pyarrow, pandas, scipy and
scikit-learn together are ~265 MiB even trimmed, so MlDepsLayer ships scipy, scikit-learn, skops
and their dependencies as one zip (36 MiB; layers/deps/build_layer.py) under the directory named
by ``STEWARD_PACKED_DEPS`` (template.yaml sets ``/opt/steward-packed`` on train_model and
score_batch). The first invocation checks the zip against the SHA-256 written at build time and
unpacks it into /tmp; later ones find it done. The technique is serverless-python-requirements'
``zip`` option, with an integrity check, and an archive laid out for a fast unpack
(docs/performance.md, measured with ``make size``):

* members are Zstandard (PEP 784; backports.zstd before Python 3.14), which inflates in about
  half deflate's CPU time, each read whole (its CRC-32 checked) and written with one call;
* modules are sourceless ``.pyc`` files (one file per module instead of a source and a
  ``__pycache__`` entry): creating ~3,000 files, not inflating 140 MiB, was most of the time.

The SHA-256 of the whole archive costs ~0.03 s of CPU and stays. Unset (the local cloud, tests,
``steward check``): nothing to do, the packages are installed.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import shutil
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from types import ModuleType

from .errors import PackagingError

ENV = "STEWARD_PACKED_DEPS"
ARCHIVE = "packages.zip"
_COMPLETE = ".complete"
_unpacked: dict[str, Path] = {}


def unpack_packed_deps(environ: Mapping[str, str] = os.environ, scratch: Path | None = None) -> Path | None:
    """Make the layer's zipped packages importable; returns where they live (None: nothing packed)."""
    source = environ.get(ENV)
    if not source:
        return None
    if source in _unpacked:
        return _unpacked[source]
    archive = Path(source) / ARCHIVE
    digest_file = archive.with_name(ARCHIVE + ".sha256")
    if not archive.is_file() or not digest_file.is_file():
        raise PackagingError(
            f"{ENV}={source} but {archive} or its .sha256 is missing: attach the layer that ships them "
            "(template.yaml: MlDepsLayer) or unset the variable"
        )
    expected = digest_file.read_text().strip()
    root = (scratch or Path(tempfile.gettempdir())) / "steward-packed"
    target = root / expected[:16]
    if not (target / _COMPLETE).is_file():
        _verify(archive, expected)
        _extract(archive, root, target)
    path = str(target)
    if path not in sys.path:
        sys.path.insert(0, path)
        importlib.invalidate_caches()
    _unpacked[source] = target
    return target


def _verify(archive: Path, expected: str) -> None:
    sha = hashlib.sha256()
    with archive.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            sha.update(block)
    if sha.hexdigest() != expected:
        raise PackagingError(
            f"{archive} does not match its SHA-256 ({sha.hexdigest()[:16]}... != {expected[:16]}...): "
            "the layer is corrupt; rebuild and redeploy it"
        )


def _zipfile() -> ModuleType:
    """``zipfile`` that reads Zstandard members (method 93): the standard library's from 3.14."""
    if sys.version_info >= (3, 14):
        import zipfile

        return zipfile
    from backports.zstd import zipfile as zstd_zip  # MlDepsLayer ships it unpacked

    return zstd_zip


def _extract(archive: Path, root: Path, target: Path) -> None:
    """Unpack into a fresh directory, then rename: a crash mid-way never leaves a half tree in use.

    Each member is read whole (``ZipFile.read`` checks its CRC-32) and written with one call, its
    mode set at creation: ``ZipFile.extract`` copies in 64 KiB chunks and chmods afterwards.
    """
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=root, prefix=".unpacking-"))
    try:
        with _zipfile().ZipFile(archive) as zf:
            made: set[Path] = set()
            for info in zf.infolist():
                name = PurePosixPath(info.filename)
                if name.is_absolute() or ".." in name.parts:
                    raise PackagingError(f"{archive} holds an unsafe path: {info.filename!r}")
                path = staging.joinpath(*name.parts)
                if info.is_dir():
                    path.mkdir(parents=True, exist_ok=True)
                    continue
                if path.parent not in made:
                    path.parent.mkdir(parents=True, exist_ok=True)
                    made.add(path.parent)
                mode = (info.external_attr >> 16) & 0o755 or 0o644
                with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode), "wb") as fh:
                    fh.write(zf.read(info))
        (staging / _COMPLETE).touch()
        if target.exists():  # a previous run unpacked but died before marking it complete
            shutil.rmtree(target)
        staging.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
