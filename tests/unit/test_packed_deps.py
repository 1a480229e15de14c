"""MlDepsLayer's zipped packages: what layers/deps/build_layer.py packs, modelsteward.packed_deps unpacks."""

from __future__ import annotations

import hashlib
import importlib.util
import py_compile
import sys
import zipfile
from pathlib import Path
from types import ModuleType

import pytest

from modelsteward import packed_deps
from modelsteward.errors import PackagingError
from modelsteward.packed_deps import ENV, unpack_packed_deps

REPO = Path(__file__).resolve().parents[2]


def _load_build_tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("layer_build", REPO / "layers" / "deps" / "build_layer.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


build_tool = _load_build_tool()


@pytest.fixture(autouse=True)
def isolated_imports(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.setattr(packed_deps, "_unpacked", {})
    for name in [m for m in sys.modules if m.startswith("probe_pkg")]:
        monkeypatch.delitem(sys.modules, name)


def _site_with_probe(site: Path, value: int = 42) -> None:
    """A site-packages tree as pip leaves it: a package, a binary-ish file, a dist-info with RECORD."""
    pkg = site / "probe_pkg"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text(f"VALUE = {value}\n")
    (pkg / "_native.so").write_bytes(b"\x7fELF not really")
    (pkg / "_native.so").chmod(0o755)
    info = site / "probe_pkg-1.0.dist-info"
    info.mkdir()
    (info / "RECORD").write_text(
        "probe_pkg/__init__.py,,\nprobe_pkg/_native.so,,\nprobe_pkg-1.0.dist-info/RECORD,,\n../../bin/probe,,\n"
    )
    (site / "kept.py").write_text("KEPT = True\n")
    kept = site / "kept-2.0.dist-info"
    kept.mkdir()
    (kept / "RECORD").write_text("kept.py,,\n")


def _packed_layer(tmp_path: Path, value: int = 42) -> Path:
    layer_dir = tmp_path / "layer"
    _site_with_probe(layer_dir / "python", value)
    layer = build_tool.Layer(packages=("probe-pkg",), packed=frozenset({"probe-pkg"}))
    build_tool.pack(layer, layer_dir / "python", layer_dir)
    packed: str = build_tool.PACKED_DIR  # the build script is loaded from its file: untyped here
    return layer_dir / packed


def test_build_packs_the_named_distributions_and_unpack_makes_them_importable(tmp_path: Path) -> None:
    packed = _packed_layer(tmp_path)
    site = tmp_path / "layer" / "python"
    assert sorted(p.name for p in site.iterdir()) == ["kept-2.0.dist-info", "kept.py"]  # moved, not copied

    where = unpack_packed_deps({ENV: str(packed)}, scratch=tmp_path / "tmp")

    assert where is not None and sys.path[0] == str(where)
    probe = importlib.import_module("probe_pkg")
    assert probe.VALUE == 42
    assert (where / "probe_pkg" / "_native.so").stat().st_mode & 0o111  # shared objects stay executable
    assert (where / "probe_pkg-1.0.dist-info" / "RECORD").is_file()  # importlib.metadata still works


def test_unpacking_gives_back_every_packed_file_bit_for_bit(tmp_path: Path) -> None:
    """What scikit-learn scores with is byte for byte what pip installed, modes included."""
    site = tmp_path / "layer" / "python"
    _site_with_probe(site)
    (site / "probe_pkg" / "weights.bin").write_bytes(bytes(range(256)) * 8192)  # 2 MiB in one member
    packed_tops = ("probe_pkg", "probe_pkg-1.0.dist-info")
    before = {
        p.relative_to(site): (p.read_bytes(), p.stat().st_mode & 0o777)
        for top in packed_tops
        for p in (site / top).rglob("*")
        if p.is_file()
    }
    layer = build_tool.Layer(packages=("probe-pkg",), packed=frozenset({"probe-pkg"}))
    build_tool.pack(layer, site, tmp_path / "layer")
    packed = tmp_path / "layer" / build_tool.PACKED_DIR

    with zipfile.ZipFile(packed / "packages.zip") as zf:  # the central directory, read by any zipfile
        methods = {info.compress_type for info in zf.infolist()}
    where = unpack_packed_deps({ENV: str(packed)}, scratch=tmp_path / "tmp")

    assert methods == {93}  # Zstandard (APPNOTE 6.3.7, PEP 784): faster to inflate than deflate
    assert where is not None
    after = {
        p.relative_to(where): (p.read_bytes(), p.stat().st_mode & 0o777)
        for p in where.rglob("*")
        if p.is_file() and p.name != ".complete"
    }
    assert after == before


def test_compiled_modules_ship_sourceless_and_still_import(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "layer" / "python"
    _site_with_probe(site, value=7)
    monkeypatch.setattr(build_tool, "BYTECODE_TAG", sys.implementation.cache_tag)  # this interpreter's
    source = site / "probe_pkg" / "__init__.py"
    py_compile.compile(
        str(source),
        cfile=importlib.util.cache_from_source(str(source)),
        invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
    )
    source.write_text("VALUE = 'the source, not the bytecode'\n")  # proves which one is imported
    layer = build_tool.Layer(packages=("probe-pkg",), packed=frozenset({"probe-pkg"}))
    build_tool.pack(layer, site, tmp_path / "layer")

    where = unpack_packed_deps(
        {ENV: str(tmp_path / "layer" / build_tool.PACKED_DIR)}, scratch=tmp_path / "tmp"
    )

    assert where is not None
    assert sorted(p.name for p in (where / "probe_pkg").iterdir()) == ["__init__.pyc", "_native.so"]
    assert importlib.import_module("probe_pkg").VALUE == 7


def test_the_archive_is_deterministic(tmp_path: Path) -> None:
    first = (_packed_layer(tmp_path / "a") / "packages.zip").read_bytes()
    second = (_packed_layer(tmp_path / "b") / "packages.zip").read_bytes()
    assert first == second  # same bytes in, same layer out: no new layer version per deploy


def test_unpacks_once_per_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    packed = _packed_layer(tmp_path)
    first = unpack_packed_deps({ENV: str(packed)}, scratch=tmp_path / "tmp")
    monkeypatch.setattr(packed_deps, "_unpacked", {})  # a new process in the same sandbox: /tmp kept

    def no_second_extract(*args: object) -> None:
        raise AssertionError("unpacked twice")

    monkeypatch.setattr(packed_deps, "_extract", no_second_extract)
    assert unpack_packed_deps({ENV: str(packed)}, scratch=tmp_path / "tmp") == first
    assert sys.path.count(str(first)) == 1


def test_a_half_unpacked_tree_is_replaced(tmp_path: Path) -> None:
    packed = _packed_layer(tmp_path)
    digest = (packed / "packages.zip.sha256").read_text().strip()
    stale = tmp_path / "tmp" / "steward-packed" / digest[:16]
    stale.mkdir(parents=True)
    (stale / "leftover.txt").write_text("crashed mid-way")

    where = unpack_packed_deps({ENV: str(packed)}, scratch=tmp_path / "tmp")

    assert where == stale and not (where / "leftover.txt").exists()
    assert importlib.import_module("probe_pkg").VALUE == 42


def test_nothing_to_do_without_the_variable(tmp_path: Path) -> None:
    before = list(sys.path)
    assert unpack_packed_deps({}, scratch=tmp_path) is None
    assert sys.path == before


def test_a_missing_layer_is_named(tmp_path: Path) -> None:
    with pytest.raises(PackagingError, match="MlDepsLayer"):
        unpack_packed_deps({ENV: str(tmp_path / "nowhere")}, scratch=tmp_path)


def test_a_corrupt_archive_is_refused_and_nothing_is_unpacked(tmp_path: Path) -> None:
    packed = _packed_layer(tmp_path)
    archive = packed / "packages.zip"
    archive.write_bytes(archive.read_bytes()[:-10] + b"0123456789")

    with pytest.raises(PackagingError, match="does not match its SHA-256"):
        unpack_packed_deps({ENV: str(packed)}, scratch=tmp_path / "tmp")
    assert not (tmp_path / "tmp").exists()
    assert importlib.util.find_spec("probe_pkg") is None


def test_an_archive_that_escapes_its_directory_is_refused(tmp_path: Path) -> None:
    packed = tmp_path / "packed"
    packed.mkdir()
    archive = packed / "packages.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("probe_pkg/__init__.py", "VALUE = 1\n")
        zf.writestr("../escaped.py", "owned = True\n")
    (packed / "packages.zip.sha256").write_text(hashlib.sha256(archive.read_bytes()).hexdigest())

    with pytest.raises(PackagingError, match="unsafe path"):
        unpack_packed_deps({ENV: str(packed)}, scratch=tmp_path / "tmp")
    assert not list(tmp_path.rglob("escaped.py"))
    assert [p.name for p in (tmp_path / "tmp" / "steward-packed").iterdir()] == []  # staging removed


def test_every_layer_packs_only_what_it_installs() -> None:
    for name, layer in build_tool.LAYERS.items():
        assert not layer.packed or "scikit-learn" in layer.packages, name
        assert not (layer.packed and layer.scipy_only), name  # a trimmed scipy must not shadow a packed one
