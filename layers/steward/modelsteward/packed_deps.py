"""Unpack the packages a layer ships zipped, once per execution environment, before they are imported.

Lambda caps a function plus its layers at 250 MiB unzipped. numpy, pyarrow, pandas, scipy and
scikit-learn together are ~265 MiB even trimmed, so MlDepsLayer ships scipy, scikit-learn, skops
and their dependencies as one zip (46 MiB; layers/deps/build_layer.py) under the
directory named by ``STEWARD_PACKED_DEPS`` (template.yaml sets ``/opt/steward-packed`` on
train_model and score_batch). The first invocation checks the zip against the SHA-256 written
at build time and unpacks it into /tmp (1.3-2.8 s on a cold start, docs/performance.md); later
ones find it done. The technique is serverless-python-requirements' ``zip`` option, with an
integrity check.

Unset (the local cloud, tests, ``steward check``): nothing to do, the packages are installed.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import shutil
import sys
import tempfile
import zipfile
from collections.abc import Mapping
from pathlib import Path, PurePosixPath

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


def _extract(archive: Path, root: Path, target: Path) -> None:
    """Unpack into a fresh directory, then rename: a crash mid-way never leaves a half tree in use."""
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=root, prefix=".unpacking-"))
    try:
        with zipfile.ZipFile(archive) as zf:
            for info in zf.infolist():
                name = PurePosixPath(info.filename)
                if name.is_absolute() or ".." in name.parts:
                    raise PackagingError(f"{archive} holds an unsafe path: {info.filename!r}")
                zf.extract(info, staging)
                mode = (info.external_attr >> 16) & 0o755
                if mode and not info.is_dir():
                    os.chmod(staging / name, mode)
        (staging / _COMPLETE).touch()
        if target.exists():  # a previous run unpacked but died before marking it complete
            shutil.rmtree(target)
        staging.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
