"""Build one of the suite's layers for Lambda python3.12 x86_64, without Docker.

    python build_layer.py <LayerLogicalId> <artifacts_dir>     # what `sam build` runs through the Makefile

Lambda allows 250 MiB unzipped for a function plus all its layers. numpy, scipy, pandas,
scikit-learn, skops and pyarrow are ~415 MiB as shipped and still ~265 MiB trimmed, so no single
layer can serve every function. Each function family gets a layer holding only what it imports
(docs/performance.md has the measured sizes):

* DriftDepsLayer (monitor_batch, create_baseline, check_window, the scale-out functions): numpy,
  pyarrow, scipy reduced to ``scipy.special`` (all the drift maths calls), threadpoolctl.
* LabelDepsLayer (evaluate_labels): the same plus pandas.
* MlDepsLayer (train_model, score_batch): numpy, pyarrow, pandas and backports.zstd unpacked;
  scipy, scikit-learn, skops and their dependencies zipped into ``steward-packed/`` (Zstandard zip
  members, PEP 784: ~42 MiB for 140 MiB unpacked with bytecode), which ``modelsteward.packed_deps``
  verifies and unpacks into /tmp on a cold start (docs/performance.md has the measured times).
* StewardLayer (every function): Powertools (with the X-Ray SDK), pydantic and PyYAML
  (layers/steward/requirements.txt; boto3 comes with the runtime). The suite's own modelsteward
  package is not in a layer: each function's code holds the modules its handler reaches
  (build_function.py).

Every layer ships bytecode compiled by python3.12 with ``--invalidation-mode unchecked-hash``:
/opt is read-only, so without it each cold start compiles numpy's, pandas' and the suite's
sources again (measured: the monitor service import takes 1.3 s without, 0.75 s with).

Trimmed everywhere: tests/, __pycache__ (the host's bytecode is for the wrong interpreter and /opt
is read-only), C/C++ headers and Cython sources, pyarrow's Flight, ORC and S3/GCS/Azure/HDFS file
systems (the suite reads S3 through boto3), duplicate copies of pyarrow's libraries, and debug
symbols (``strip --strip-unneeded``, except in auditwheel's ``*.libs/``: stripping those breaks
them, "ELF load command ... not page-aligned").

A built layer is kept under ``.aws-sam/layer-cache`` (``STEWARD_LAYER_CACHE``), keyed on this file
and the pins: samconfig.toml turns SAM's own cache off, because SAM keys a function's cache on its
CodeUri alone and would ship stale modelsteward modules (each function's build copies them from
layers/steward), so every ``sam build`` runs every Makefile and the layers come from here.
"""

from __future__ import annotations

import atexit
import hashlib
import importlib
import json
import os
import re
import shutil
import stat
import subprocess  # nosec B404 - a build tool: runs pip, strip and python3.12 with fixed arguments
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

HERE = Path(__file__).resolve().parent
PLATFORM = [
    "--only-binary=:all:",
    "--implementation",
    "cp",
    "--python-version",
    "3.12",
    "--platform",
    "manylinux_2_28_x86_64",
    "--platform",
    "manylinux2014_x86_64",
]
# 250 MiB for code + layers, minus StewardLayer (~16 MiB with bytecode), function code (< 2.5 MiB)
# and slack; `make size` checks the real sum per function.
BUDGET_MIB = 230
PACKED_DIR = "steward-packed"
CACHE = Path(os.environ.get("STEWARD_LAYER_CACHE") or HERE.parent.parent / ".aws-sam" / "layer-cache")
# Zstandard level of the packed members: decompression speed is the same at every level (what a
# cold start pays); higher levels only shrink the archive and slow the build (docs/performance.md)
ZSTD_LEVEL = 9  # measured: 41.9 MiB in 5 s; level 12 41.7 MiB in 116 s; 19 38.3 MiB in 245 s
BYTECODE_TAG = "cpython-312"  # sys.implementation.cache_tag of the Lambda runtime (compile_bytecode)
ZSTD_PIN = "backports.zstd==1.8.1"  # the zip module with ZIP_ZSTANDARD before Python 3.14
PYARROW_UNUSED = re.compile(
    r"^(libarrow_flight\.so.*|libarrow_python_flight\.so.*|_flight.*\.so|flight\.py|libarrow_s3\.so.*"
    r"|_s3fs.*\.so|_gcsfs.*\.so|_azurefs.*\.so|_hdfs.*\.so|_orc.*\.so|_dataset_orc.*\.so"
    r"|_pyarrow_cpp_tests.*\.so)$"
)
SOURCES = {".pyc", ".pyx", ".pxd", ".pxi", ".h", ".hpp", ".c", ".cpp"}


@dataclass(frozen=True)
class Layer:
    packages: tuple[str, ...]
    scipy_only: tuple[str, ...] = ()  # keep just these scipy subpackages (empty: all of scipy)
    packed: frozenset[str] = field(default_factory=frozenset)  # distributions shipped zipped
    requirements: Path = HERE / "requirements.txt"  # pins: constraints, or what to install
    install_requirements: bool = False  # install everything the requirements file lists
    runtime_provided: tuple[str, ...] = ()  # top-level packages the Lambda runtime already has


DRIFT = ("numpy", "scipy", "pyarrow", "threadpoolctl")
LAYERS = {
    "DriftDepsLayer": Layer(DRIFT, scipy_only=("special", "_lib")),
    "LabelDepsLayer": Layer((*DRIFT, "pandas"), scipy_only=("special", "_lib")),
    "MlDepsLayer": Layer(
        ("numpy", "scipy", "pyarrow", "pandas", "scikit-learn", "skops", "backports.zstd"),
        packed=frozenset(
            {
                "scipy",
                "scikit-learn",
                "skops",
                "joblib",
                "threadpoolctl",
                "narwhals",
                "prettytable",
                "wcwidth",
                "packaging",
                "cloudpickle",
            }
        ),
    ),
    "StewardLayer": Layer(
        (),
        requirements=HERE.parent / "steward" / "requirements.txt",
        install_requirements=True,
        # aws-xray-sdk pulls in the AWS SDK, which the python3.12 runtime ships
        runtime_provided=("boto3", "botocore", "s3transfer", "jmespath", "urllib3", "dateutil", "six"),
    ),
}


def python312() -> str | None:
    """A python3.12 that runs (a pyenv shim on PATH may exist and still refuse to)."""
    candidates = [os.environ.get("PY312", ""), shutil.which("python3.12") or ""]
    candidates += sorted(map(str, Path("/root/.pyenv/versions").glob("3.12*/bin/python3.12")))
    candidates += ["/usr/bin/python3.12", "/usr/local/bin/python3.12"]
    for candidate in filter(None, candidates):
        probe = subprocess.run([candidate, "-c", "pass"], capture_output=True, check=False)  # noqa: S603  # nosec B603
        if probe.returncode == 0:
            return candidate
    return None


def mib(path: Path) -> float:
    """Apparent size in MiB, as Lambda counts unzipped bytes."""
    if path.is_file():
        return path.stat().st_size / 2**20
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink()) / 2**20


def install(layer: Layer, site: Path, python: str) -> None:
    subprocess.run(  # noqa: S603  # nosec B603 - fixed pip command line
        [
            python,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-compile",
            "--disable-pip-version-check",
            *PLATFORM,
            "--target",
            str(site),
            "-r" if layer.install_requirements else "-c",
            str(layer.requirements),
            *layer.packages,
        ],
        check=True,
    )
    for name in layer.runtime_provided:
        dist = "python_dateutil" if name == "dateutil" else name
        for found in {*site.glob(name), *site.glob(f"{name}.py"), *site.glob(f"{dist}-*.dist-info")}:
            if found.is_dir():
                shutil.rmtree(found)
            elif found.exists():
                found.unlink()


def compile_bytecode(site: Path) -> bool:
    """Python 3.12 bytecode next to the sources, trusted without checking their timestamps."""
    python = python312()
    if python is None:
        print(
            "warning: no python3.12 here, the layer ships without bytecode (slower cold starts)",
            file=sys.stderr,
        )
        return False
    subprocess.run(  # noqa: S603  # nosec B603 - the standard library's compileall
        [python, "-m", "compileall", "-q", "-j", "0", "--invalidation-mode", "unchecked-hash", str(site)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return True


def trim(layer: Layer, site: Path) -> None:
    for path in sorted(site.rglob("*"), reverse=True):  # children before parents
        if path.is_dir() and path.name in ("tests", "__pycache__"):
            shutil.rmtree(path)
        elif path.is_file() and path.suffix in SOURCES:
            path.unlink()
    for rel in ("pyarrow/include", "pyarrow/src", "numpy/_core/include", "numpy/_core/lib/pkgconfig", "bin"):
        shutil.rmtree(site / rel, ignore_errors=True)
    arrow = site / "pyarrow"
    if arrow.is_dir():
        for lib in arrow.iterdir():
            if PYARROW_UNUSED.match(lib.name):
                lib.unlink()
        # wheels hold no symlinks: keep only the SONAME copy (libarrow.so.2600) of each library
        for lib in arrow.glob("lib*.so*"):
            if re.search(r"\.so\.\d+\.\d+", lib.name) or (
                lib.suffix == ".so" and list(arrow.glob(lib.name + ".*"))
            ):
                lib.unlink()
    if layer.scipy_only:
        for sub in (site / "scipy").iterdir():
            if sub.is_dir() and sub.name not in layer.scipy_only:
                shutil.rmtree(sub)


def strip(site: Path) -> None:
    tool = shutil.which("strip")
    if tool is None:
        print("warning: strip not found, shared objects keep their symbols", file=sys.stderr)
        return
    libs = [
        str(p) for p in site.rglob("*.so*") if p.is_file() and not any(x.endswith(".libs") for x in p.parts)
    ]
    for i in range(0, len(libs), 200):
        batch = libs[i : i + 200]
        subprocess.run([tool, "--strip-unneeded", *batch], check=False, stderr=subprocess.DEVNULL)  # noqa: S603  # nosec B603


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def distribution_entries(site: Path) -> dict[str, set[str]]:
    """Distribution name -> the top-level entries of ``site`` its RECORD lists (dist-info included)."""
    found: dict[str, set[str]] = {}
    for record in site.glob("*.dist-info/RECORD"):
        name = record.parent.name.split("-", 1)[0]  # {name}-{version}.dist-info
        tops = {line.split(",", 1)[0].split("/", 1)[0] for line in record.read_text().splitlines() if line}
        found[_normalize(name)] = {t for t in tops if t not in ("", "..") and (site / t).exists()}
    return found


def zstd_zipfile() -> ModuleType:
    """``zipfile`` with ``ZIP_ZSTANDARD``: the standard library's from 3.14, backports.zstd's before.

    The build's own interpreter (``python3`` for ``sam build``) may lack backports.zstd; it then gets
    the pinned wheel in a scratch directory for this build only.
    """
    if sys.version_info >= (3, 14):
        import zipfile

        return zipfile
    try:
        from backports.zstd import zipfile as zstd_zip
    except ImportError:
        scratch = tempfile.mkdtemp(prefix="build-zstd-")
        atexit.register(shutil.rmtree, scratch, True)
        subprocess.run(  # noqa: S603  # nosec B603 - fixed pip command line
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--target",
                scratch,
                ZSTD_PIN,
            ],
            check=True,
        )
        sys.path.insert(0, scratch)
        importlib.invalidate_caches()
        from backports.zstd import zipfile as zstd_zip
    return zstd_zip


def sourceless(site: Path, files: list[Path]) -> list[tuple[str, Path]]:
    """(archive name, file): each compiled module as one legacy ``.pyc`` where its source was.

    PEP 3147's sourceless layout (``compileall -b``): Python imports ``mod.pyc`` with no
    ``mod.py``, while ``__pycache__/mod.cpython-312.pyc`` is used only next to its source. The
    unpack then creates one file per module instead of two (creating files, not inflating bytes,
    is most of its time; docs/performance.md). The price: tracebacks through the packed libraries
    show file and line but not the source text. Without python3.12 bytecode, sources stay.
    """
    suffix = f".{BYTECODE_TAG}.pyc"
    members = []
    for path in files:
        name = path.relative_to(site).as_posix()
        bytecode = path.parent / "__pycache__" / (path.stem + suffix)
        if path.suffix == ".py" and bytecode.is_file():
            members.append((name + "c", bytecode))  # top-level modules too (site/__pycache__)
        elif path.parent.name != "__pycache__":  # bytecode is used only in its source's place
            members.append((name, path))
    return sorted(members)


def pack(layer: Layer, site: Path, artifacts: Path) -> Path | None:
    """Move the packed distributions into one deterministic zip (Zstandard members) plus its SHA-256."""
    if not layer.packed:
        return None
    entries = distribution_entries(site)
    missing = {_normalize(d) for d in layer.packed} - set(entries)
    if missing:
        raise SystemExit(f"packed distributions not installed: {sorted(missing)}")
    tops = sorted(set().union(*(entries[_normalize(d)] for d in layer.packed)))
    out = artifacts / PACKED_DIR
    out.mkdir(parents=True, exist_ok=True)
    archive = out / "packages.zip"
    files = sorted(
        p
        for top in tops
        for p in ([site / top] if (site / top).is_file() else (site / top).rglob("*"))
        if p.is_file()
    )
    zipfile = zstd_zipfile()
    with zipfile.ZipFile(archive, "w") as zf:
        for name, path in sourceless(site, files):
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = (stat.S_IFREG | (path.stat().st_mode & 0o755)) << 16
            info.compress_type = zipfile.ZIP_ZSTANDARD
            info.compress_level = ZSTD_LEVEL
            zf.writestr(info, path.read_bytes())
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    (out / "packages.zip.sha256").write_text(digest + "\n")
    for top in tops:
        target = site / top
        shutil.rmtree(target) if target.is_dir() else target.unlink()
    return archive


def cache_key(name: str, layer: Layer) -> str:
    """What decides a layer's content: this tool, the pins, and whether bytecode and strip run."""
    fields = {k: sorted(v) if isinstance(v, frozenset) else v for k, v in vars(layer).items()}
    fields.pop("requirements")  # a path: its content is hashed below
    tools = {"python312": python312() is not None, "strip": shutil.which("strip") is not None}
    sha = hashlib.sha256(json.dumps([name, fields, tools], sort_keys=True).encode())
    for path in sorted({Path(__file__).resolve(), HERE / "requirements.txt", layer.requirements}):
        sha.update(path.read_bytes())
    return sha.hexdigest()[:16]


def keep(artifacts: Path, cached: Path) -> None:
    """Store a built layer in the cache (written aside, then renamed: a crash never leaves half)."""
    cached.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{cached.name}-", dir=cached.parent))
    scratch.chmod(0o755)  # mkdtemp's 0700 would reach the artifacts a cache hit copies it into
    shutil.copytree(artifacts, scratch, dirs_exist_ok=True)
    for stale in cached.parent.glob(cached.name.rsplit("-", 1)[0] + "-*"):
        shutil.rmtree(stale)  # the layer's older builds
    scratch.rename(cached)


def build(name: str, artifacts: Path, python: str = sys.executable, budget_mib: float = BUDGET_MIB) -> float:
    if name not in LAYERS:
        raise SystemExit(f"unknown layer {name!r}; known: {', '.join(LAYERS)}")
    layer = LAYERS[name]
    cached = CACHE / f"{name}-{cache_key(name, layer)}"
    if cached.is_dir():
        shutil.copytree(cached, artifacts, dirs_exist_ok=True)
        origin = f" (cached: {cached})"
    else:
        site = artifacts / "python"
        install(layer, site, python)
        trim(layer, site)
        strip(site)
        compile_bytecode(site)
        pack(layer, site, artifacts)
        keep(artifacts, cached)
        origin = ""
    total = mib(artifacts)
    archive = artifacts / PACKED_DIR / "packages.zip"
    packed = f"; {mib(archive):.1f} MiB of it zipped packages" if archive.is_file() else ""
    print(f"{name}: {total:.1f} MiB unzipped (budget {budget_mib:.0f} MiB){packed}{origin}")
    if total > budget_mib:
        raise SystemExit(
            f"{name} is {total:.1f} MiB unzipped, over its {budget_mib:.0f} MiB budget: Lambda refuses a "
            "function whose code and layers exceed 250 MiB unzipped"
        )
    return total


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__.splitlines()[2].strip())
    build(
        sys.argv[1],
        Path(sys.argv[2]).resolve(),
        python=os.environ.get("PIP_PYTHON", sys.executable),
        budget_mib=float(os.environ.get("MAX_LAYER_MB", BUDGET_MIB)),
    )
