"""`make size`: each Lambda function's unzipped size (code + its layers) against 250 MiB, and cold imports.

    python bench/size.py [--out .bench/size] [--rebuild]

1. Builds the layers for the Lambda platform (python3.12, manylinux x86_64 wheels, no Docker):
   MlDepsLayer with layers/ml_deps/Makefile (install + trim + strip, exactly as `sam build`),
   StewardLayer as SAM's python3.12 build does (requirements.txt + the layer's source tree).
2. Sizes every function with the layers template.yaml gives it today, then with a measured split:
   - DriftDeps: numpy + scipy (only scipy.special and scipy._lib: all the monitor path imports) +
     pyarrow + threadpoolctl, for monitor_batch, create_baseline, check_window;
   - LabelDeps: DriftDeps + pandas, for evaluate_labels;
   - MlDeps trimmed: MlDepsLayer minus the scipy subpackages scikit-learn never imports, for
     train_model and score_batch; and, for comparison, the same with fastparquet instead of pyarrow.
   Each variant is imported and exercised by a host python3.12 (sklearn fits and predicts).
3. Cold start in fresh processes of the main venv: `import app` of each handler, then the service
   it calls on first use, and whether pandas / sklearn / scipy.stats get loaded.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LIMIT_MIB = 250
PY312 = os.environ.get("PY312") or next(
    (p for p in ("/root/.pyenv/versions/3.12.1/bin/python3.12", "/usr/bin/python3.12") if Path(p).exists()),
    shutil.which("python3.12") or "",
)
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
FUNCTIONS = [
    "train_model",
    "create_baseline",
    "score_batch",
    "monitor_batch",
    "evaluate_labels",
    "handle_alarm",
    "check_window",
    "run_audit",
]
# scipy subpackages scikit-learn 1.9 loads when it fits/predicts/permutes (measured with python3.12)
SCIPY_UNUSED_BY_SKLEARN = ["signal", "odr", "datasets", "misc", "cluster", "fftpack", "differentiate"]


def mib(path: Path) -> float:
    total = 0
    for dirpath, _, files in os.walk(path):
        for f in files:
            p = os.path.join(dirpath, f)
            if not os.path.islink(p):
                total += os.path.getsize(p)
    return total / 2**20


def run(cmd: list[str], **kw) -> None:
    subprocess.run(cmd, check=True, **kw)  # noqa: S603 - fixed pip/make command lines


def trim(site: Path) -> None:
    for p in list(site.rglob("*")):
        if p.is_dir() and p.name in ("tests", "__pycache__"):
            shutil.rmtree(p, ignore_errors=True)
    for p in site.rglob("*"):
        if p.is_file() and p.suffix in (".pyc", ".h", ".c", ".pyx", ".pxd"):
            p.unlink()


def build_ml(out: Path) -> Path:
    art = out / "ml-full"
    if not (art / "python").exists():
        run(
            ["make", "-C", str(ROOT / "layers/ml_deps"), "install", "trim", "strip", f"ARTIFACTS_DIR={art}"],
            stdout=subprocess.DEVNULL,
        )
    return art / "python"


def build_steward(out: Path) -> Path:
    site = out / "steward" / "python"
    if not site.exists():
        run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "-q",
                "--no-compile",
                "--disable-pip-version-check",
                *PLATFORM,
                "--target",
                str(site),
                "-r",
                str(ROOT / "layers/steward/requirements.txt"),
            ]
        )
        shutil.copytree(ROOT / "layers/steward/modelsteward", site / "modelsteward")
        trim(site)
    return site


def build_fastparquet(out: Path) -> Path:
    site = out / "fastparquet" / "python"
    if not site.exists():
        run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "-q",
                "--no-compile",
                "--disable-pip-version-check",
                *PLATFORM,
                "--no-deps",
                "--target",
                str(site),
                "fastparquet",
                "cramjam",
                "fsspec",
            ]
        )
        trim(site)
    return site


def subset(full: Path, dest: Path, keep) -> Path:
    """Hard-linked copy of the entries of ``full`` that ``keep(name)`` accepts."""
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    for entry in full.iterdir():
        if keep(entry.name):
            if entry.is_dir():
                shutil.copytree(entry, dest / entry.name, copy_function=os.link)
            else:
                os.link(entry, dest / entry.name)
    return dest


def variants(out: Path, full: Path, fastparquet: Path) -> dict[str, Path]:
    def prefix(*names):
        return lambda n: any(n == x or n.startswith((x + ".", x + "-")) for x in names)

    drift = subset(full, out / "drift" / "python", prefix("numpy", "scipy", "pyarrow", "threadpoolctl"))
    for sub in (drift / "scipy").iterdir():
        if sub.is_dir() and sub.name not in ("special", "_lib"):
            shutil.rmtree(sub)
    labels = subset(
        full,
        out / "labels" / "python",
        prefix(
            "numpy",
            "scipy",
            "pyarrow",
            "threadpoolctl",
            "pandas",
            "dateutil",
            "python_dateutil",
            "tzdata",
            "six",
        ),
    )
    for sub in (labels / "scipy").iterdir():
        if sub.is_dir() and sub.name not in ("special", "_lib"):
            shutil.rmtree(sub)
    ml = subset(full, out / "ml-trimmed" / "python", lambda n: True)
    for name in SCIPY_UNUSED_BY_SKLEARN:
        shutil.rmtree(ml / "scipy" / name, ignore_errors=True)
    ml_fp = subset(ml, out / "ml-fastparquet" / "python", lambda n: not n.startswith("pyarrow"))
    for entry in fastparquet.iterdir():
        target = ml_fp / entry.name
        if not target.exists():
            (
                shutil.copytree(entry, target, copy_function=os.link)
                if entry.is_dir()
                else os.link(entry, target)
            )
    return {
        "MlDepsLayer": full,
        "DriftDeps": drift,
        "LabelDeps": labels,
        "MlDeps-trimmed": ml,
        "MlDeps-fastparquet": ml_fp,
    }


SMOKE = {
    "DriftDeps": "import numpy, pyarrow.parquet, pyarrow.compute, pyarrow.csv, pyarrow.json, io\n"
    "import threadpoolctl\n"
    "from scipy.special import chdtrc, kolmogorov, expit, ndtri, bdtrc, ndtr\n"
    "t = pyarrow.table({'x': numpy.arange(10.0)}); b = io.BytesIO(); pyarrow.parquet.write_table(t, b)\n"
    "assert pyarrow.parquet.ParquetFile(io.BytesIO(b.getvalue())).read().num_rows == 10\n"
    "assert abs(kolmogorov(1.0) - 0.27) < 0.01 and chdtrc(1, 3.84) < 0.051\n"
    "import sys; assert 'pandas' not in sys.modules\n",
    "LabelDeps": "import numpy, pandas, pyarrow.parquet, io\nfrom scipy.special import bdtrc, ndtr\n"
    "f = pandas.DataFrame({'x': numpy.arange(10.0)}); b = io.BytesIO(); f.to_parquet(b)\n"
    "assert pandas.read_parquet(io.BytesIO(b.getvalue())).shape == (10, 1)\n",
    "MlDeps-trimmed": "import numpy, pandas, pyarrow.parquet, skops.io\n"
    "from sklearn.ensemble import HistGradientBoostingClassifier\n"
    "from sklearn.linear_model import LogisticRegression\n"
    "from sklearn.inspection import permutation_importance\n"
    "from sklearn.model_selection import train_test_split\n"
    "from sklearn.compose import ColumnTransformer\nfrom sklearn.impute import SimpleImputer\n"
    "X = numpy.random.default_rng(0).normal(size=(2000, 5)); y = (X[:, 0] + X[:, 1] > 0).astype(int)\n"
    "for m in (HistGradientBoostingClassifier(max_iter=30), LogisticRegression()):\n"
    "    m.fit(X, y); assert (m.predict(X) == y).mean() > 0.9\n"
    "    blob = skops.io.dumps(m); skops.io.loads(blob, trusted=skops.io.get_untrusted_types(data=blob))\n"
    "permutation_importance(m, X, y, n_repeats=2)\n",
}
SMOKE["MlDepsLayer"] = SMOKE["MlDeps-trimmed"]
SMOKE["MlDeps-fastparquet"] = SMOKE["MlDeps-trimmed"].replace("pyarrow.parquet", "fastparquet") + (
    "import io\nf = pandas.DataFrame({'x': numpy.arange(10.0)}); b = io.BytesIO()\n"
    "f.to_parquet('/tmp/_fp.parquet', engine='fastparquet')\n"
    "assert pandas.read_parquet('/tmp/_fp.parquet', engine='fastparquet').shape == (10, 1)\n"
)


def smoke(name: str, site: Path) -> str:
    code = SMOKE.get(name)
    if code is None or not PY312 or not Path(PY312).exists():
        return "not run"
    proc = subprocess.run(  # noqa: S603 - our own smoke code
        [PY312, "-c", code],
        env={"PYTHONPATH": str(site), "PYTHONDONTWRITEBYTECODE": "1", "PATH": os.environ["PATH"]},
        capture_output=True,
        text=True,
    )
    return "works" if proc.returncode == 0 else "FAILS: " + proc.stderr.strip().splitlines()[-1][:120]


def template_layers() -> dict[str, list[str]]:
    """Function name -> layer logical ids, read from template.yaml."""
    text = (ROOT / "template.yaml").read_text()
    found: dict[str, list[str]] = {}
    for block in re.split(r"\n  (?=[A-Za-z]+:\n    Type: AWS::Serverless::Function)", text):
        m = re.search(r'FunctionName: !Sub "\$\{AWS::StackName\}-(\w+)"', block)
        if m:
            layers = re.search(r"Layers:\n((?:\s+- !Ref \w+\n)+)", block)
            found[m.group(1)] = re.findall(r"!Ref (\w+)", layers.group(1)) if layers else []
    return found


def cold_imports(fn: str, runs: int = 3) -> dict:
    code = (
        "import sys, time, importlib, json\n"
        f"sys.path.insert(0, {str(ROOT / 'functions' / fn)!r})\n"
        "t0 = time.perf_counter(); import app; t1 = time.perf_counter()\n"
        f"importlib.import_module('modelsteward.services.{fn}'); t2 = time.perf_counter()\n"
        "heavy = ('numpy', 'scipy', 'scipy.stats', 'pyarrow', 'pandas', 'sklearn')\n"
        "heavy = [m for m in heavy if m in sys.modules]\n"
        "print(json.dumps([t1 - t0, t2 - t1, heavy]))\n"
    )
    samples = []
    for _ in range(runs):
        out = subprocess.run(  # noqa: S603 - our own probe
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        )
        samples.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return {
        "app_s": statistics.median(s[0] for s in samples),
        "service_s": statistics.median(s[1] for s in samples),
        "heavy": samples[-1][2],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=".bench/size")
    parser.add_argument("--rebuild", action="store_true")
    args = parser.parse_args()
    out = (ROOT / args.out).resolve()
    if args.rebuild and out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    full = build_ml(out)
    steward = build_steward(out)
    layers = variants(out, full, build_fastparquet(out))
    sizes = {name: mib(site) for name, site in layers.items()}
    sizes["StewardLayer"] = mib(steward)

    print("== layers (unzipped MiB, trimmed; python3.12 manylinux x86_64)")
    for name, site in layers.items():
        top = sorted(((mib(p), p.name) for p in site.iterdir() if p.is_dir()), reverse=True)[:6]
        print(
            f"{name:<20} {sizes[name]:7.1f}  {smoke(name, site):<10} "
            + ", ".join(f"{n} {s:.0f}" for s, n in top)
        )
    print(f"{'StewardLayer':<20} {sizes['StewardLayer']:7.1f}")

    current = template_layers()
    proposed = {
        "train_model": ["StewardLayer", "MlDeps-trimmed"],
        "score_batch": ["StewardLayer", "MlDeps-trimmed"],
        "monitor_batch": ["StewardLayer", "DriftDeps"],
        "create_baseline": ["StewardLayer", "DriftDeps"],
        "check_window": ["StewardLayer", "DriftDeps"],
        "evaluate_labels": ["StewardLayer", "LabelDeps"],
        "handle_alarm": ["StewardLayer"],
        "run_audit": ["StewardLayer"],
    }
    alternative = {
        **proposed,
        "train_model": ["StewardLayer", "MlDeps-fastparquet"],
        "score_batch": ["StewardLayer", "MlDeps-fastparquet"],
    }
    print(f"\n== functions: code + layers, unzipped MiB vs the {LIMIT_MIB} MiB limit")
    print(
        f"{'function':<16} {'code':>5} | {'today (template.yaml)':>24} | {'split layers':>22} | "
        f"{'split + fastparquet':>22}"
        f" | {'import app s':>12} {'+service s':>10}  heavy modules loaded by the service import"
    )
    report = {}
    for fn in FUNCTIONS:
        code = mib(ROOT / "functions" / fn)
        cells = []
        for assignment in (current, proposed, alternative):
            names = assignment.get(fn, [])
            total = code + sum(sizes[n] for n in names)
            cells.append((total, "fits" if total <= LIMIT_MIB else "OVER"))
        cold = cold_imports(fn)
        report[fn] = {"code": code, "today": cells[0], "split": cells[1], "fastparquet": cells[2], **cold}
        print(
            f"{fn:<16} {code:5.2f} | {cells[0][0]:17.1f} {cells[0][1]:>6} | "
            f"{cells[1][0]:15.1f} {cells[1][1]:>6} | "
            f"{cells[2][0]:15.1f} {cells[2][1]:>6} | {cold['app_s']:12.3f} {cold['service_s']:10.3f}  "
            f"{', '.join(cold['heavy']) or '-'}"
        )
    (out / "size.json").write_text(json.dumps({"layers": sizes, "functions": report}, indent=1))


if __name__ == "__main__":
    main()
