"""`steward demo`: the whole lifecycle on the local cloud, from the real template, in a few minutes.

Train v1 -> healthy batches -> labels -> drifted batches -> a drift episode opens -> one email ->
retraining -> the gate decides -> the new champion (its baseline drawn from the new regime) serves ->
the next batches are clean -> the episode closes -> one recovery email -> the scheduled audit ->
`audit verify`.
Everything runs in-process on moto; the artifacts a person wants to open are copied to the state
directory (moto keeps nothing after the process ends).
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import shutil
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MODEL = "credit-default"
DEFAULT_STATE_DIR = Path(".steward") / "demo"


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "demo",
        help="run the whole lifecycle on the local cloud (no AWS account, no Docker)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--state-dir",
        type=Path,
        default=DEFAULT_STATE_DIR,
        help="where the outbox, logs, reports and screenshots go (default: %(default)s; "
        "emptied at the start of each run)",
    )
    p.add_argument("--rows", type=int, default=4000, help="rows per inference batch (default: %(default)s)")
    p.add_argument("--no-screenshots", action="store_true", help="skip the PNG screenshots of the reports")
    p.add_argument("--quiet", action="store_true", help="only the final summary")
    p.set_defaults(func=_run)


# --- progress display ----------------------------------------------------------------------
class Progress:
    """One short line per event; a live elapsed-time ticker on a terminal for long steps."""

    def __init__(self, quiet: bool = False, stream: Any = None) -> None:
        self.quiet = quiet
        self.stream = stream or sys.stdout
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.started = time.monotonic()
        self.step_no = 0

    def line(self, text: str) -> None:
        if not self.quiet:
            print(text, file=self.stream, flush=True)

    def event(self, text: str) -> None:
        self.line(f"      · {text}")

    @contextmanager
    def step(self, title: str, total_steps: int) -> Iterator[None]:
        self.step_no += 1
        head = f"[{self.step_no:>2}/{total_steps}] {title}"
        t0 = time.monotonic()
        stop = threading.Event()
        ticker = None
        if self.tty and not self.quiet:

            def tick() -> None:
                frames = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
                i = 0
                while not stop.wait(0.2):
                    self.stream.write(f"\r{head} {frames[i % len(frames)]} {time.monotonic() - t0:5.1f}s")
                    self.stream.flush()
                    i += 1

            ticker = threading.Thread(target=tick, daemon=True)
            ticker.start()
        else:
            self.line(head)
        try:
            yield
        finally:
            stop.set()
            if ticker is not None:
                ticker.join()
                self.stream.write(f"\r{head} done in {time.monotonic() - t0:.1f}s\n")
                self.stream.flush()
            elif not self.quiet:
                self.line(f"      done in {time.monotonic() - t0:.1f}s")


# --- the story -----------------------------------------------------------------------------
@dataclass
class DemoResult:
    state_dir: Path
    champion_before: int | None = None
    champion_after: int | None = None
    gate_outcome: str | None = None
    alarm_emails: list[str] = field(default_factory=list)
    emails: list[Path] = field(default_factory=list)
    reports: list[Path] = field(default_factory=list)
    timeline: Path = Path()
    cards: list[Path] = field(default_factory=list)
    governance: list[Path] = field(default_factory=list)
    screenshots: list[Path] = field(default_factory=list)
    audit_ok: bool = False
    audit_records: int = 0
    audit_actions: list[str] = field(default_factory=list)
    governance_findings: int = -1
    quarantined: list[str] = field(default_factory=list)
    scored_by_new_champion: bool = False
    recovery_emails: list[str] = field(default_factory=list)
    drift_episode: dict[str, Any] = field(default_factory=dict)  # the story of the last drift episode
    seconds: float = 0.0


def _csv(frame: Any) -> bytes:
    buf = io.StringIO()
    frame.to_csv(buf, index=False)
    return buf.getvalue().encode()


def _alarm_note(changes: list[Any]) -> str:
    moved = [f"{c.alarm_name}→{c.new_state}" for c in changes if c.new_state != "INSUFFICIENT_DATA"]
    return f"; alarms: {', '.join(moved)}" if moved else ""


def _silently(fn: Callable[[], Any]) -> Any:
    """CLI helpers print; inside the demo their output would interleave with the progress lines."""
    with redirect_stdout(io.StringIO()):
        return fn()


def run_demo(
    state_dir: Path, *, rows: int = 4000, screenshots: bool = True, progress: Progress | None = None
) -> DemoResult:
    from modelsteward.services import audit_trail
    from stewardtools.cli.main import main as steward
    from stewardtools.datasets import generate
    from stewardtools.localcloud.deploy import LocalCloud
    from stewardtools.operations.context import cli_context

    progress = progress or Progress()
    state_dir = state_dir.resolve()
    if state_dir.exists():
        shutil.rmtree(state_dir)
    state_dir.mkdir(parents=True)
    result = DemoResult(state_dir=state_dir)
    started = time.monotonic()
    total = 10
    spec_path = Path(__file__).resolve().parents[3] / "examples" / "specs" / f"{MODEL}.yaml"
    if not spec_path.exists():  # installed elsewhere: the spec ships inside the package too
        spec_path = Path(__file__).resolve().parents[1] / "examples" / f"{MODEL}.yaml"

    with progress.step("Deploying template.yaml on the local cloud (moto, in-process)", total):
        cloud = LocalCloud(models=[MODEL], state_dir=state_dir / "cloud", echo=None)
        cloud.start()
    try:
        data_bucket = cloud.outputs["DataBucketName"]
        progress.event(
            f"stack {cloud.stack_name}: data bucket {data_bucket}, "
            f"{len(cloud.alarm_names) or 'per-model'} alarms, "
            f"{sum(k.endswith('FunctionName') for k in cloud.outputs)} functions"
        )

        def ctx() -> Any:
            return cli_context(cloud.stack_name, actor="demo")

        def champion() -> int | None:
            state = ctx().registry.get_model_state(MODEL)
            value = state.get("champion") if state else None
            return int(value) if value is not None else None

        def settle() -> None:
            cloud.wait_idle()

        def tick(minutes: float = 5.0) -> list[Any]:
            cloud.advance(minutes=minutes)
            return cloud.evaluate_alarms()

        # 2. onboard + train v1 ----------------------------------------------------------------
        with progress.step(f"Onboarding {MODEL} and training v1 from training/{MODEL}/", total):
            code = _silently(
                lambda: steward(["models", "onboard", str(spec_path), "--stack", cloud.stack_name])
            )
            if code != 0:
                raise RuntimeError(f"steward models onboard failed with exit code {code}")
            month_ago = cloud.now - dt.timedelta(days=30)
            train = generate(
                MODEL, 12_000, seed=1, drift=0.0, labeled=True, start=month_ago, span_hours=30 * 24
            )
            cloud.upload(f"training/{MODEL}/snapshot-2026-01.csv", _csv(train))
            settle()
            result.champion_before = champion()
            row = ctx().registry.get_version(MODEL, result.champion_before) if result.champion_before else {}
            metrics = row.get("metrics", {}) if row else {}
            progress.event(
                f"v{result.champion_before} champion; holdout ROC AUC "
                f"{float(metrics.get('roc_auc') or 0):.3f}, "
                f"accuracy {float(metrics.get('accuracy') or 0):.3f}"
            )

        # 3. healthy traffic ---------------------------------------------------------------------
        with progress.step("A day of healthy traffic: 3 batches, 12 hours apart (+ their labels)", total):
            for i in range(3):
                if i:
                    cloud.advance(hours=12)
                batch = generate(
                    MODEL, rows, seed=100 + i, drift=0.0, labeled=True, start=cloud.now, span_hours=1
                )
                cloud.upload(f"scoring/{MODEL}/healthy-{i + 1}.csv", _csv(batch.drop(columns=["default"])))
                settle()
                cloud.upload(f"labels/{MODEL}/healthy-{i + 1}.csv", _csv(batch[["id", "default"]]))
                settle()
                changes = tick()
                progress.event(
                    f"healthy-{i + 1}: {rows} rows scored, monitored, labeled" + _alarm_note(changes)
                )

        # 4. a bad upload, to show quarantine -----------------------------------------------------
        with progress.step("Uploading a broken file (quarantined, never lost)", total):
            cloud.upload(f"inference/{MODEL}/broken.csv", b"id;age\n1;2\n\x00\x01\x02 binary junk\n")
            settle()
            store = ctx().store
            reasons = [
                k for k in store.list_keys(data_bucket, f"quarantine/{MODEL}/") if k.endswith("reason.txt")
            ]
            result.quarantined = reasons
            progress.event(f"{len(reasons)} quarantine reason(s) written; the upload stays in place")

        # 5. drift ---------------------------------------------------------------------------------
        with progress.step(
            "Drift: 3 shifted batches 5 minutes apart (incomes fall, utilisation up); labels an hour later",
            total,
        ):
            cloud.advance(hours=1)
            shifted = []
            for i in range(3):
                batch = generate(
                    MODEL, rows, seed=200 + i, drift=1.0, labeled=True, start=cloud.now, span_hours=0.08
                )
                shifted.append(batch)
                cloud.upload(f"scoring/{MODEL}/shifted-{i + 1}.csv", _csv(batch.drop(columns=["default"])))
                settle()
                changes = tick()
                progress.event(f"shifted-{i + 1}: scored and monitored" + _alarm_note(changes))
            cloud.advance(hours=1)
            for i, batch in enumerate(shifted):  # the retrain waits for these (retrain.min_new_rows)
                cloud.upload(f"labels/{MODEL}/shifted-{i + 1}.csv", _csv(batch[["id", "default"]]))
                settle()
                progress.event(f"labels of shifted-{i + 1} arrived" + _alarm_note(tick()))
            for _ in range(6):  # let retraining (async) finish and alarms settle
                settle()
                if champion() != result.champion_before:
                    break
                tick(1)

        # 6. the email and the gate ---------------------------------------------------------------
        with progress.step("Alarm email, retraining and the champion/challenger gate", total):
            messages = cloud.outbox_messages()
            result.emails = (
                sorted((state_dir / "cloud" / "outbox").glob("*"))
                if (state_dir / "cloud" / "outbox").exists()
                else []
            )
            result.alarm_emails = [m.subject for m in messages if "ALARM" in (m.subject or "")]
            for subject in result.alarm_emails:
                progress.event(f"email: {subject}")
            result.champion_after = champion()
            versions = ctx().registry.list_versions(MODEL)
            latest = max(versions, key=lambda r: int(r["version"])) if versions else {}
            gate = latest.get("gate") or {}
            result.gate_outcome = str(gate.get("outcome") or latest.get("status"))
            progress.event(
                f"v{latest.get('version')}: gate {result.gate_outcome}; "
                f"champion v{result.champion_before} → v{result.champion_after}"
            )
            if latest.get("baseline_rows"):
                progress.event(f"v{latest.get('version')}'s monitoring baseline: {latest['baseline_rows']}")

        # 7. the new champion serves; the episode closes ----------------------------------------
        with progress.step("The new champion scores the next batches: the drift episode closes", total):
            import pyarrow.parquet as pq

            from modelsteward.services.episodes import episode_book

            for i in range(2):  # the population stays shifted; v2's baseline was drawn from it
                cloud.advance(minutes=5)
                batch = generate(
                    MODEL, rows, seed=300 + i, drift=1.0, labeled=True, start=cloud.now, span_hours=0.08
                )
                features = _csv(batch.drop(columns=["default"]))
                cloud.upload(f"scoring/{MODEL}/after-retrain-{i + 1}.csv", features)
                settle()
                cloud.upload(f"labels/{MODEL}/after-retrain-{i + 1}.csv", _csv(batch[["id", "default"]]))
                settle()
                name = f"after-retrain-{i + 1}"
                keys = [k for k in store.list_keys(data_bucket, f"inference/{MODEL}/") if name in k]
                served: set[int] = set()
                if keys:
                    table = pq.read_table(
                        io.BytesIO(store.get(data_bucket, keys[-1]).body), columns=["model_version"]
                    )
                    served = {int(v) for v in table.column("model_version").to_pylist() if v is not None}
                    result.scored_by_new_champion = served == {result.champion_after}
                book = episode_book(ctx(), MODEL)
                state = "open" if book.get("drift").open else "closed"
                progress.event(f"{name}: scored by version(s) {sorted(served)}, drift episode {state}")
            result.drift_episode = book.get("drift").story()
            tick()
            result.recovery_emails = [
                m.subject for m in cloud.outbox_messages() if "recovered" in (m.subject or "")
            ]
            for subject in result.recovery_emails:
                progress.event(f"email: {subject}")

        # 8. scheduled jobs ------------------------------------------------------------------------
        with progress.step("Scheduled window check and governance audit", total):
            cloud.advance(hours=1)
            cloud.fire_schedule("CheckWindowFunction")
            cloud.fire_schedule("RunAuditFunction")
            settle()
            c = ctx()
            gov_keys = sorted(
                k
                for k in c.store.list_keys(c.settings.artifacts_bucket, "governance/")
                if k.endswith("report.json")
            )
            if gov_keys:
                from modelsteward.domain.governance_report import GovernanceReport

                body = c.store.get(c.settings.artifacts_bucket, gov_keys[-1]).body
                result.governance_findings = len(GovernanceReport.model_validate_json(body).findings)
                progress.event(f"governance audit: {result.governance_findings} finding(s)")

        # 9. audit verify ---------------------------------------------------------------------------
        with progress.step("steward audit verify", total):
            c = ctx()
            records = list(c.audit.records())
            verification = audit_trail.verify(c, records)
            result.audit_actions = [str(r.get("action")) for r in records]
            result.audit_ok = bool(verification.ok)
            result.audit_records = verification.table.count
            progress.event(
                ("chain verifies" if result.audit_ok else "CHAIN BROKEN")
                + f" ({result.audit_records} records, table and Object Lock export)"
            )

        # 10. collect what a person opens ----------------------------------------------------------
        with progress.step("Copying reports, model cards and governance reports to disk", total):
            c = ctx()
            out = state_dir / "artifacts"
            for key in c.store.list_keys(c.settings.artifacts_bucket, ""):
                if key.endswith((".html", ".json", ".md")) and not key.startswith("predictions/"):
                    target = out / key
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(c.store.get(c.settings.artifacts_bucket, key).body)
            for key in c.store.list_keys(data_bucket, "quarantine/"):
                target = state_dir / "data" / key
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(c.store.get(data_bucket, key).body)
            result.reports = sorted(out.glob("reports/**/report.html"))
            result.timeline = out / "reports" / MODEL / "timeline.html"
            result.cards = sorted(out.glob("models/**/card.html"))
            result.governance = sorted(out.glob("governance/**/report.html"))
            if screenshots:
                from stewardtools.screenshot import screenshot

                shots = state_dir / "screenshots"
                shots.mkdir(exist_ok=True)
                shifted = [p for p in result.reports if "/batches/shifted-" in str(p)]
                picks = {
                    "batch-report": shifted[-1] if shifted else None,
                    "drift-timeline": result.timeline if result.timeline.exists() else None,
                    "model-card": result.cards[-1] if result.cards else None,
                    "governance-report": result.governance[-1] if result.governance else None,
                }
                for name, page in picks.items():
                    if page is None:
                        continue
                    png = shots / f"{name}.png"
                    if screenshot(page, png):
                        result.screenshots.append(png)
            result.emails = sorted((state_dir / "cloud" / "outbox").glob("*"))
    finally:
        cloud.stop()
    result.seconds = time.monotonic() - started
    return result


def summary(result: DemoResult) -> str:
    rel = Path.cwd()

    def show(path: Path) -> str:
        try:
            return str(path.relative_to(rel))
        except ValueError:
            return str(path)

    lines = [
        "",
        "Model Steward demo — summary",
        "=" * 28,
        f"champion: v{result.champion_before} → v{result.champion_after} (gate: {result.gate_outcome})",
        f"alarm emails: {len(result.alarm_emails)}; all emails: {len(result.emails)}",
        f"new champion served the next batches: {'yes' if result.scored_by_new_champion else 'no'}",
        _episode_line(result.drift_episode, result.recovery_emails),
        f"governance audit findings: {result.governance_findings}",
        f"audit chain: {'verifies' if result.audit_ok else 'BROKEN'} ({result.audit_records} records)",
        f"took {result.seconds:.0f}s; state in {show(result.state_dir)}",
        "",
        "Open:",
    ]
    if result.reports:
        lines.append(
            f"  reports               {show(result.state_dir / 'artifacts' / 'reports' / MODEL)}/  "
            f"({len(result.reports)} batch and window report.html)"
        )
    if result.timeline.is_file():
        lines.append(f"  drift over time       {show(result.timeline)}")
    if result.cards:
        lines.append(f"  model cards           {show(result.cards[-1])}")
    if result.governance:
        lines.append(f"  governance report     {show(result.governance[-1])}")
    if result.emails:
        lines.append(f"  emails (outbox)       {show(result.emails[0].parent)}/")
    if result.quarantined:
        lines.append(f"  quarantine reasons    {show(result.state_dir / 'data' / 'quarantine')}/")
    if result.screenshots:
        lines.append(f"  screenshots           {show(result.screenshots[0].parent)}/")
    lines += [
        "",
        "Look further:",
        "  .venv/bin/steward local up                 # the same stack, served for the AWS CLI / boto3",
        "  .venv/bin/steward check --reference REF --current CUR --out DIR   # offline, no AWS",
        "  .venv/bin/steward --help                   # models, audit, backfill, replay ...",
        "  docs/                                      # architecture, drift methods, alerts, runbook",
    ]
    return "\n".join(lines)


def _episode_line(episode: dict[str, Any], recoveries: list[str]) -> str:
    if not episode.get("episode_id"):
        return "drift episode: none opened"
    if episode.get("open"):
        seen = episode.get("batches_seen")
        return f"drift episode: STILL OPEN since {episode.get('since')} ({seen} batches)"
    mails = sum("drift" in r for r in recoveries)
    return (
        f"drift episode: closed - opened by batch {episode.get('opened_by')}, closed by batch "
        f"{episode.get('closed_by')} ({episode.get('close_reason')}); {mails} recovery email"
    )


def _run(args: argparse.Namespace) -> int:
    progress = Progress(quiet=args.quiet)
    progress.line("Model Steward demo: the whole lifecycle on the local cloud (no AWS account, no Docker)")
    result = run_demo(args.state_dir, rows=args.rows, screenshots=not args.no_screenshots, progress=progress)
    print(summary(result))
    closed = bool(result.drift_episode.get("episode_id")) and not result.drift_episode.get("open")
    ok = result.audit_ok and result.champion_after is not None and bool(result.alarm_emails) and closed
    return 0 if ok else 1
