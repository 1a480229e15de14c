"""`make size`: every function's deployment (code + its layers, unzipped) against Lambda's 250 MiB.

    python bench/size.py [--out .bench/size] [--rebuild]

1. Builds the layers as `sam build` does, without Docker: `make build-<Layer>` in layers/deps
   (DriftDepsLayer, LabelDepsLayer, MlDepsLayer) and layers/steward (StewardLayer), both driving
   layers/deps/build_layer.py: python3.12 manylinux x86_64 wheels, trimmed, stripped, bytecode
   compiled, MlDepsLayer's scipy + scikit-learn zipped. Builds are cached under --out until
   build_layer.py, the pins or the package change.
2. Sizes each function with the layers template.yaml attaches to it today.
3. Runs each deployment as Lambda loads it (bench/lambda_smoke.py): a fresh `python3.12 -S`
   whose only importable code is the function's code, its layers and the runtime's boto3, in a new
   TMPDIR (a cold sandbox). It imports the handler, unpacks zipped packages, imports the service
   (together: the cold start), then does that function's real computation on generated data
   (score_batch: load the champion train_model's run left and score a batch). Times are medians
   of 3 runs.

Exit status 1 when a function is over 250 MiB or its smoke run fails (CI runs this).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "layers" / "deps"))
from build_layer import PLATFORM, mib, python312  # noqa: E402  (layers/deps/build_layer.py: one definition of the platform)

LIMIT_MIB = 250
RUNS = 3
SCORE_COLD_TARGET_S = 1.5  # issue 19: score_batch starts in about a second

PY312 = python312()


def _digest(*paths: Path) -> str:
    sha = hashlib.sha256()
    for path in paths:
        for p in sorted([path] if path.is_file() else path.rglob("*")):
            if p.is_file() and "__pycache__" not in p.parts:
                sha.update(p.relative_to(ROOT).as_posix().encode() + p.read_bytes())
    return sha.hexdigest()[:16]


def _cached(dest: Path, key: str) -> bool:
    stamp = dest / ".built"
    if stamp.is_file() and stamp.read_text() == key:
        return True
    shutil.rmtree(dest, ignore_errors=True)
    return False


def _pip_target(target: Path, *args: str) -> None:
    subprocess.run(  # noqa: S603 - fixed pip command line
        [sys.executable, "-m", "pip", "install", "-q", "--no-compile", "--disable-pip-version-check",
         *PLATFORM, "--target", str(target), *args],
        check=True,
    )  # fmt: skip


def build_layer(name: str, directory: str, out: Path) -> Path:
    dest = out / name
    inputs = [ROOT / "layers/deps/build_layer.py", ROOT / "layers/deps/requirements.txt"]
    if name == "StewardLayer":
        inputs += [ROOT / "layers/steward/requirements.txt", ROOT / "layers/steward/modelsteward"]
    key = _digest(*inputs)
    if not _cached(dest, key):
        subprocess.run(  # noqa: S603 - the Makefile sam build runs
            [  # noqa: S607 - make from PATH, as sam build finds it
                "make",
                "-s",
                "-C",
                str(ROOT / directory),
                f"build-{name}",
                f"ARTIFACTS_DIR={dest}",
            ],
            check=True,
        )
        (dest / ".built").write_text(key)
    return dest


def build_runtime(out: Path) -> Path:
    """boto3 as the Lambda python3.12 runtime provides it (not counted against the 250 MiB), with
    bytecode as a pip install leaves it (assumed of the runtime's site-packages, not checked: no AWS
    here). Without it every smoke run compiled botocore again: 0.2-0.4 s of "import app", since
    Tracer imports botocore."""
    dest = out / "runtime"
    lock = (ROOT / "requirements/lock.txt").read_text()
    pins = [
        m.group(0) for m in re.finditer(r"^(boto3|botocore|s3transfer|jmespath|urllib3)==\S+", lock, re.M)
    ]
    key = _digest(ROOT / "requirements/lock.txt") + f"-bytecode-{bool(PY312)}"
    if not _cached(dest, key):
        _pip_target(dest, *pins)
        if PY312:
            subprocess.run(  # noqa: S603 - the standard library's compileall
                [PY312, "-m", "compileall", "-q", "-j", "0", str(dest)], check=True, stdout=subprocess.DEVNULL
            )  # fmt: skip
        (dest / ".built").write_text(key)
    return dest


def template_wiring() -> tuple[dict[str, list[str]], dict[str, str]]:
    """(function name -> its layers' logical ids, layer -> the directory its Makefile is in), from
    template.yaml as the local cloud reads it."""
    from stewardtools.localcloud.translate import load_template

    resources = load_template(ROOT / "template.yaml")["Resources"]
    functions, layers = {}, {}
    for logical_id, resource in resources.items():
        if not isinstance(resource, dict):  # Fn::ForEach::... (the per-model alarms)
            continue
        props = resource.get("Properties") or {}
        if resource.get("Type") == "AWS::Serverless::Function":
            name = props["CodeUri"].rstrip("/").rsplit("/", 1)[-1]
            functions[name] = [ref["Ref"] for ref in props.get("Layers", [])]
        elif resource.get("Type") == "AWS::Serverless::LayerVersion":
            layers[logical_id] = props["ContentUri"].rstrip("/")
    return functions, layers


def write_smoke_data(work: Path) -> None:
    """Files the smoke runs read: credit-default reference and a shifted batch, and its spec."""
    import yaml

    from stewardtools import datasets

    work.mkdir(parents=True, exist_ok=True)
    spec = yaml.safe_load((ROOT / "examples/specs/credit-default.yaml").read_text())
    spec["estimator"]["params"]["max_iter"] = 40
    (work / "spec.json").write_text(json.dumps(spec))
    datasets.credit_default(5_000, seed=0).to_csv(work / "reference.csv", index=False)
    datasets.credit_default(2_000, seed=1, drift=1.0).to_csv(work / "current.csv", index=False)


def smoke(function: str, layer_dirs: list[Path], runtime: Path, work: Path) -> dict:
    if not PY312:
        return {"skipped": "no python3.12 on this machine: sizes checked, deployment not run"}
    path = [ROOT / "functions" / function, *(d / "python" for d in layer_dirs), runtime]
    env = {"PYTHONPATH": os.pathsep.join(map(str, path)), "PATH": os.environ["PATH"],
           "PYTHONDONTWRITEBYTECODE": "1", "AWS_DEFAULT_REGION": "us-east-1"}  # fmt: skip
    packed = [d / "steward-packed" for d in layer_dirs if (d / "steward-packed").is_dir()]
    if packed:
        env["STEWARD_PACKED_DEPS"] = str(packed[0])
    samples = []
    for _ in range(RUNS):
        with tempfile.TemporaryDirectory(prefix="lambda-tmp-") as tmp:  # a cold sandbox's /tmp
            proc = subprocess.run(  # noqa: S603 - our own smoke script
                [PY312, "-S", str(ROOT / "bench/lambda_smoke.py"), function, str(work)],
                env={**env, "TMPDIR": tmp}, capture_output=True, text=True, check=False,
            )  # fmt: skip
        if proc.returncode != 0:
            return {"error": (proc.stderr.strip().splitlines() or ["no output"])[-1][:160]}
        samples.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    last = samples[-1]
    if last["unimportable"]:  # a code path that would fail in Lambda: name the module and what it lacks
        module, reason = next(iter(last["unimportable"].items()))
        count = len(last["unimportable"])
        return {"error": f"{count} reachable modules do not import, e.g. {module}: {reason}"}
    for s in samples:
        s["cold_s"] = s["app_s"] + s["unpack_s"] + s["service_s"]
    for key in ("app_s", "unpack_s", "service_s", "cold_s", "work_s", "unpack_cpu_s", "cold_cpu_s"):
        last[key] = statistics.median(s[key] for s in samples)
    last["cold_runs"] = [round(s["cold_s"], 3) for s in samples]
    return last


def _brief(result: dict) -> str:
    return ", ".join(
        f"{k} {len(v) if isinstance(v, list) else round(v, 3) if isinstance(v, float) else v}"
        for k, v in result.items()
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=".bench/size")
    parser.add_argument("--rebuild", action="store_true")
    args = parser.parse_args()
    out = (ROOT / args.out).resolve()
    if args.rebuild:
        shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)

    functions, layer_dirs = template_wiring()
    layers = {name: build_layer(name, directory, out) for name, directory in layer_dirs.items()}
    runtime = build_runtime(out)
    work = out / "smoke-data"
    write_smoke_data(work)

    print("== layers (unzipped MiB; python3.12 manylinux x86_64, trimmed and stripped)")
    sizes = {}
    for name, dest in layers.items():
        sizes[name] = mib(dest) - mib(dest / ".built")
        site = dest / "python"
        top = sorted(((mib(p), p.name) for p in site.iterdir() if p.is_dir()), reverse=True)[:6]
        packed = dest / "steward-packed" / "packages.zip"
        note = f"  + zipped: {mib(packed):.1f} MiB" if packed.is_file() else ""
        print(f"{name:<16} {sizes[name]:7.1f}  " + ", ".join(f"{n} {s:.0f}" for s, n in top) + note)
    print(f"(runtime boto3 for the smoke runs: {mib(runtime):.1f} MiB, shipped by Lambda, not counted)")

    print(
        f"\n== functions: code + layers, unzipped MiB vs the {LIMIT_MIB} MiB limit; cold start, python3.12 -S"
    )
    print(f"{'function':<19} {'layers':<28} {'MiB':>6}  {'fits':<5} {'import app':>10} {'unpack':>7} "
          f"{'+service':>9} {'= cold':>7} {'work':>7}  heavy modules after the service import; "
          "result")  # fmt: skip
    report: dict[str, dict] = {}
    failed = []
    # train_model first: its smoke run leaves the champion artifact that score_batch's run scores with
    for function, attached in sorted(functions.items(), key=lambda item: item[0] != "train_model"):
        code = mib(ROOT / "functions" / function)
        total = code + sum(sizes[n] for n in attached)
        fits = total <= LIMIT_MIB
        run = smoke(function, [layers[n] for n in attached], runtime, work)
        report[function] = {
            "layers": attached,
            "code_mib": code,
            "total_mib": total,
            "fits": fits,
            "smoke": run,
        }
        if not fits or "error" in run:
            failed.append(function)
        deps = "+".join(n.removesuffix("Layer") for n in attached)
        if "skipped" in run:
            print(f"{function:<19} {deps:<28} {total:6.1f}  {'yes' if fits else 'NO':<5} {run['skipped']}")
            continue
        if "error" in run:
            print(
                f"{function:<19} {deps:<28} {total:6.1f}  {'yes' if fits else 'NO':<5} FAILED: {run['error']}"
            )
            continue
        print(
            f"{function:<19} {deps:<28} {total:6.1f}  {'yes' if fits else 'NO':<5} {run['app_s']:9.3f}s "
            f"{run['unpack_s']:6.2f}s {run['service_s']:8.2f}s {run['cold_s']:6.2f}s {run['work_s']:6.2f}s  "
            f"{', '.join(run['heavy_on_import']) or '-'}; {_brief(run['result'])}"
        )
    trained = report.get("train_model", {}).get("smoke", {}).get("result", {})
    scored = report.get("score_batch", {}).get("smoke", {}).get("result", {})
    if "predictions_sha256" in scored and scored["predictions_sha256"] != trained.get("predictions_sha256"):
        print("score_batch's predictions differ from train_model's for the same champion", file=sys.stderr)
        failed.append("score_batch")
    (out / "size.json").write_text(json.dumps({"layers": sizes, "functions": report}, indent=1))
    score = report.get("score_batch", {}).get("smoke", {})
    if "cold_s" in score:  # issue 19's inference cold start: a verdict, not a gate (timings are noisy)
        print(
            f"\nscore_batch cold start (import app + unpack + service): {score['cold_s']:.2f} s, median of "
            f"{', '.join(f'{c:.2f}' for c in score['cold_runs'])} s; target <= {SCORE_COLD_TARGET_S} s: "
            f"{'met' if score['cold_s'] <= SCORE_COLD_TARGET_S else 'NOT met'}. CPU time "
            f"{score['cold_cpu_s']:.2f} s (unpack {score['unpack_cpu_s']:.2f} s), what a loaded machine "
            f"disturbs least. First batch scored {score['cold_s'] + score['work_s']:.2f} s after start "
            f"(loading the model imports scikit-learn). Load average {os.getloadavg()[0]:.1f}, "
            f"{os.cpu_count()} CPUs."
        )
    if failed:
        print(
            f"\nFAILED: {', '.join(failed)} (over {LIMIT_MIB} MiB or the deployment does not run)",
            file=sys.stderr,
        )
        return 1
    print(f"\nevery function fits and runs from its own deployment (details: {out / 'size.json'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
