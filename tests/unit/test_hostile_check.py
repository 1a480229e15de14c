"""The hostile corpus through `steward check`: clear errors, no value leaked, memory in budget.

Each case runs the real CLI entry point; what it printed, what it logged and every file it wrote
are searched for the planted values. tests/e2e/test_hostile_cloud.py runs the same corpus through
the local cloud.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from hostile import (
    SPEC_PATH,
    batch,
    billion_laughs_spec,
    csv_bytes,
    deep_spec,
    files_under,
    gzip_bomb,
    leaks,
    oversized_spec,
    plant,
    planted_values,
    record,
    recursive_alias_spec,
)

from stewardtools.cli.main import main

ROWS = 2000
UNDER = 5  # 0.25% of the rows: below the PII screen's threshold
ABOVE = 60  # 3%
SUITE = "steward check"
REQUIRED_NUMBERS = ("annual_income", "age", "loan_amount")
PLACES = [
    ("annual_income", "email"),  # numeric feature
    ("age", "card"),
    ("loan_amount", "ssn"),
    ("timestamp", "ssn"),  # timestamp column
    ("timestamp", "email"),
    ("prediction", "email"),  # prediction column
    ("prediction", "card"),
]


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ref") / "reference.csv"
    path.write_bytes(csv_bytes(batch(3000, seed=1)))
    return path


def spec_file(tmp_path: Path, action: str = "quarantine") -> Path:
    path = tmp_path / "spec.yaml"
    path.write_text(SPEC_PATH.read_text().replace("action: quarantine", f"action: {action}"))
    return path


def run_check(
    tmp_path: Path,
    reference: Path,
    current: bytes,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    spec: Path | None,
    name: str = "current.csv",
) -> tuple[int, list[tuple[str, bytes | str]]]:
    """Exit code, and everything the run wrote or said."""
    cur = tmp_path / name
    cur.write_bytes(current)
    out = tmp_path / "out"
    args = ["check", "--reference", str(reference), "--current", str(cur), "--out", str(out)]
    with caplog.at_level(logging.DEBUG):
        code = main(args + (["--spec", str(spec)] if spec else []))
    said = capsys.readouterr()
    written: list[tuple[str, bytes | str]] = [
        ("stdout", said.out),
        ("stderr", said.err),
        ("log", caplog.text),
    ]
    if out.exists():
        written += list(files_under(out))
    return code, written


@pytest.mark.parametrize(("column", "kind"), PLACES)
def test_personal_data_under_the_threshold_is_accepted_and_never_written(
    tmp_path: Path,
    reference: Path,
    column: str,
    kind: str,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    values = planted_values(kind, UNDER, seed=1)
    current = csv_bytes(plant(batch(ROWS, seed=2), column, values))
    code, written = run_check(tmp_path, reference, current, capsys, caplog, spec_file(tmp_path))
    assert code in (0, 1), written[1]
    assert (tmp_path / "out" / "report.json").is_file()  # accepted: the batch is monitored
    assert leaks(written, values) == []
    report = (tmp_path / "out" / "report.json").read_text()
    if column != "prediction":  # the nulled values are counted, and described by their kind
        assert f"{UNDER} values like <" in report
    record(
        SUITE,
        "personal data in typed columns",
        f"{UNDER} {kind}s in {column} (0.25%)",
        f"accepted (exit {code}), no value in {len(written)} outputs",
    )


@pytest.mark.parametrize("action", ["quarantine", "redact"])
@pytest.mark.parametrize(("column", "kind"), PLACES)
def test_personal_data_above_the_threshold_is_refused_and_never_quoted(
    tmp_path: Path,
    reference: Path,
    column: str,
    kind: str,
    action: str,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    values = planted_values(kind, ABOVE, seed=2)
    current = csv_bytes(plant(batch(ROWS, seed=3), column, values))
    code, written = run_check(tmp_path, reference, current, capsys, caplog, spec_file(tmp_path, action))
    stderr = str(written[1][1])
    if action == "quarantine" or column in REQUIRED_NUMBERS:
        assert code == 2 and stderr.startswith("steward: error: ") and stderr.count("\n") == 1, stderr
        assert column in stderr
    else:  # redacted; the optional column's values are nulled and counted
        assert code in (0, 1), stderr
    if action == "quarantine":
        assert "personal data found" in stderr
    assert "Traceback" not in stderr
    assert leaks(written, values) == []
    said = "refused in one sentence" if code == 2 else f"accepted (exit {code}), values redacted"
    record(
        SUITE,
        "personal data in typed columns",
        f"{ABOVE} {kind}s in {column} (3%), pii.action {action}",
        f"{said}, no value in {len(written)} outputs",
    )


def test_no_spec_inferred_columns_leak_nothing(
    tmp_path: Path, reference: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    values = planted_values("email", UNDER, seed=3)
    current = csv_bytes(plant(batch(ROWS, seed=4), "annual_income", values))
    code, written = run_check(tmp_path, reference, current, capsys, caplog, None)
    assert code in (0, 1)
    assert leaks(written, values) == []
    record(
        SUITE,
        "personal data in typed columns",
        "5 emails in a numeric column, no spec (inferred)",
        f"accepted (exit {code}), no value in {len(written)} outputs",
    )


def test_half_the_predictions_outside_the_classes_is_a_quality_violation(
    tmp_path: Path, reference: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    frame = batch(ROWS, seed=5)
    frame.loc[frame.index % 2 == 0, "prediction"] = "maybe"
    code, written = run_check(tmp_path, reference, csv_bytes(frame), capsys, caplog, spec_file(tmp_path))
    assert code == 1
    stdout = str(written[0][1])
    assert stdout.startswith("QUALITY:") or "quality violation" in stdout
    import json

    report = json.loads((tmp_path / "out" / "report.json").read_text())
    (violation,) = [q for q in report["quality"] if q["check"] == "invalid_predictions"]
    assert violation["column"] == "prediction" and violation["observed"] == pytest.approx(0.5)
    assert report["verdict"] != "ok"
    record(
        SUITE,
        "invalid predictions",
        "50% of predictions outside the classes",
        f"exit 1, verdict {report['verdict']}, invalid_predictions violation",
    )


def test_a_few_invalid_predictions_stay_a_warning(
    tmp_path: Path, reference: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    frame = batch(ROWS, seed=6)
    frame.loc[:9, "prediction"] = "maybe"  # 0.5% < the default 1%
    run_check(tmp_path, reference, csv_bytes(frame), capsys, caplog, spec_file(tmp_path))
    import json

    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert not [q for q in report["quality"] if q["check"] == "invalid_predictions"]
    record(SUITE, "invalid predictions", "0.5% of predictions outside the classes", "a warning only")


def reason_case(reason: str) -> str:
    return {
        "aliases": "billion laughs (3.8 KB) in an estimator parameter",
        "nested more than": "nested 20,000 levels",
        "refers to itself": "a recursive alias",
        "the limit is": "a 2 MB spec",
    }[reason]


# --- malicious specs -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (billion_laughs_spec, "aliases"),
        (lambda: deep_spec(20_000), "nested more than"),
        (recursive_alias_spec, "refers to itself"),
        (lambda: oversized_spec(2 * 2**20), "the limit is"),
    ],
    ids=["billion-laughs", "nested-20000", "recursive-alias", "2MB"],
)
def test_malicious_specs_are_refused_with_a_reason(
    tmp_path: Path,
    reference: Path,
    make: Callable[[], bytes],
    reason: str,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_bytes(make())
    started = time.perf_counter()
    code, written = run_check(tmp_path, reference, reference.read_bytes(), capsys, caplog, spec)
    assert time.perf_counter() - started < 30
    stderr = str(written[1][1])
    assert code == 2 and reason in stderr and "Traceback" not in stderr, stderr
    assert not (tmp_path / "out").exists()
    record(SUITE, "malicious specs", reason_case(reason), f"exit 2 in {time.perf_counter() - started:.2f} s")


def test_a_60_mb_spec_is_refused_before_it_is_read(
    tmp_path: Path, reference: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    spec = tmp_path / "spec.yaml"
    with spec.open("wb") as f:
        f.write(SPEC_PATH.read_bytes())
        f.truncate(60 * 2**20)  # sparse: 60 MB without writing them
    started = time.perf_counter()
    code, written = run_check(tmp_path, reference, reference.read_bytes(), capsys, caplog, spec)
    assert code == 2 and "the limit is 1048576 bytes" in str(written[1][1])
    assert time.perf_counter() - started < 5
    record(SUITE, "malicious specs", "a 60 MB spec", f"exit 2 in {time.perf_counter() - started:.2f} s")


def test_the_billion_laughs_spec_is_refused_by_onboarding(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_bytes(billion_laughs_spec())
    assert main(["models", "onboard", str(spec), "--stack", "nowhere"]) == 2
    assert "aliases" in capsys.readouterr().err
    record("steward models onboard", "malicious specs", "billion laughs in an estimator parameter", "exit 2")


# --- decompression -------------------------------------------------------------------------------
# this process's own high-water mark: ru_maxrss would carry the test worker's peak across exec
PEAK_SCRIPT = """
import sys
from modelsteward.observability import peak_memory_mb
from stewardtools.cli.main import main
code = main(["check", "--reference", sys.argv[1], "--current", sys.argv[2], "--out", sys.argv[3]])
print(code, round(peak_memory_mb()), flush=True)
"""


def test_a_gzip_bomb_under_the_ratio_limit_is_refused_within_the_memory_budget(
    tmp_path: Path, reference: Path
) -> None:
    """A 2 MB gzip at ratio ~131 (262 MB inflated) on a 512 MB function: the budget is 128 MiB."""
    bomb = tmp_path / "bomb.csv.gz"
    bomb.write_bytes(gzip_bomb(2 * 2**20, ratio=131))
    # a clean environment: what earlier tests left in os.environ must not change the process measured
    keep = ("PATH", "PYTHONPATH", "HOME", "LANG", "TMPDIR")
    env = {k: os.environ[k] for k in keep if k in os.environ} | {"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512"}
    done = subprocess.run(
        [sys.executable, "-c", PEAK_SCRIPT, str(reference), str(bomb), str(tmp_path / "out")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    code, peak_mb = (int(x) for x in done.stdout.split())
    assert code == 2 and "decompresses to more than 128.0 MiB" in done.stderr, done.stderr
    assert peak_mb < 512, f"peak RSS {peak_mb} MB; {done.stderr[-500:]}"
    record(
        SUITE,
        "decompression bombs",
        "2 MB gzip at ratio 131 (262 MB), 512 MB function",
        f"exit 2 at 128 MiB, peak RSS {peak_mb} MB",
        peak_mb=peak_mb,
    )
