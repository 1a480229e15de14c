"""`steward local up`: the whole stack on 127.0.0.1, for the AWS CLI and boto3 (no Docker, no account).

    steward local up [--port N] [--models a,b] [--state-dir D] [--alarm-interval S]

moto serves every AWS API on the endpoint; the functions of template.yaml run in this process
when S3, SNS, schedules or ``aws lambda invoke`` call them; alarms are evaluated every
``--alarm-interval`` seconds and their notifications land in ``<state dir>/outbox`` as emails;
``rate(...)`` schedules fire on time. Stop with Ctrl-C (or SIGTERM).

From another shell::

    export AWS_ENDPOINT_URL=http://127.0.0.1:PORT AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test \\
           AWS_DEFAULT_REGION=us-east-1
    aws s3 cp batch.csv s3://<data bucket>/inference/<model>/    # runs monitor_batch
    aws lambda invoke --function-name model-steward-check_window out.json
    aws cloudwatch set-alarm-state --alarm-name ... --state-value ALARM --state-reason test

Exit codes: 0 stopped cleanly; 2 bad arguments; 3 the local cloud could not start.
"""

from __future__ import annotations

import argparse
import datetime as dt
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from .main import EXIT_OK

READY_PREFIX = "READY "


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "local", help="run the stack locally on moto (no Docker, no AWS account)",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    sub = parser.add_subparsers(dest="local_command", metavar="ACTION", required=True)
    up = sub.add_parser("up", help="serve the stack on 127.0.0.1 until Ctrl-C")
    up.add_argument("--port", type=int, default=5000, help="port (0 = any free port; default %(default)s)")
    up.add_argument("--host", default="127.0.0.1", help="address to listen on (default %(default)s)")
    up.add_argument(
        "--models",
        default="credit-default",
        help="comma-separated models that get per-model alarms (default %(default)s)",
    )
    up.add_argument(
        "--state-dir",
        type=Path,
        default=None,
        help="logs, outbox, alarm history, stack.json (default ./.steward/local)",
    )
    up.add_argument("--stage", default="local", help="Stage parameter (default %(default)s)")
    up.add_argument(
        "--alert-email",
        default="ops@example.com",
        help="AlertEmail parameter: the outbox's recipient (default %(default)s)",
    )
    up.add_argument("--template", type=Path, default=None, help="SAM template (default ./template.yaml)")
    up.add_argument(
        "--alarm-interval",
        type=float,
        default=60.0,
        help="seconds between alarm evaluations (default %(default)s)",
    )
    up.add_argument("--no-schedules", action="store_true", help="do not fire rate(...) schedules on time")
    up.add_argument("--quiet", action="store_true", help="do not print one line per function invocation")
    up.set_defaults(func=_up)


def _say(text: str) -> None:
    print(text, flush=True)


def _up(args: argparse.Namespace) -> int:
    from ..localcloud.deploy import LocalCloud, port_is_free

    if args.alarm_interval <= 0:
        raise _usage("--alarm-interval must be positive")
    if args.port and not port_is_free(args.host, args.port):
        raise _usage(f"port {args.port} on {args.host} is in use: pass another --port (0 = any free port)")
    models = [m.strip() for m in str(args.models).split(",") if m.strip()]
    stop = threading.Event()
    cloud = LocalCloud(
        template=args.template, models=models, state_dir=args.state_dir, serve=True, host=args.host,
        port=args.port, stage=args.stage, alert_email=args.alert_email,
        echo=None if args.quiet else lambda line: _say(f"[lambda] {line}"),
    )  # fmt: skip
    _say("starting the local cloud (translating template.yaml, creating the stack in moto) ...")
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        with cloud:
            _print_banner(cloud, args)
            worker = threading.Thread(
                target=_background, args=(cloud, stop, args.alarm_interval, not args.no_schedules),
                name="steward-local-clock", daemon=True,
            )  # fmt: skip
            worker.start()
            while not stop.wait(0.5):
                pass
            _say("stopping ...")
            worker.join(timeout=30)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    _say("stopped")
    return EXIT_OK


def _usage(message: str) -> Exception:
    from ..errors import InvalidInput

    return InvalidInput(message)


def _print_banner(cloud: Any, args: argparse.Namespace) -> None:
    endpoint = cloud.endpoint_url
    data_bucket = cloud.outputs.get("DataBucketName", "<data bucket>")
    model = (str(args.models).split(",")[0] or "<model>").strip()
    width = max(len(k) for k in cloud.outputs) if cloud.outputs else 10
    lines = [
        "",
        "Model Steward local cloud is up (moto in this process; no Docker, no AWS account).",
        f"  endpoint : {endpoint}",
        f"  state    : {cloud.state_dir}  (logs/, outbox/, alarms/, stack.json)",
        "",
        "Use it from another shell:",
        f"  export AWS_ENDPOINT_URL={endpoint} AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test "
        f"AWS_DEFAULT_REGION={cloud.region}",
        f"  aws s3 cp batch.csv s3://{data_bucket}/inference/{model}/",
        f"  tail -f {cloud.state_dir / 'logs'}/monitor_batch.log",
        "",
        f"Stack {cloud.stack_name} outputs:",
        *(f"  {key.ljust(width)}  {value}" for key, value in sorted(cloud.outputs.items())),
        "",
        f"Alarms are evaluated every {args.alarm_interval:g} s"
        + ("" if args.no_schedules else "; rate(...) schedules fire on time")
        + ". Ctrl-C stops.",
        "State is in memory: a stop or a crash loses the buckets, tables, metrics, alarm states and "
        "queued invocations (logs/, outbox/ and alarms/ above stay); a restart on the same port works "
        "at once, with a fresh stack.",
        f"{READY_PREFIX}{endpoint}",
    ]
    _say("\n".join(lines))


def _background(cloud: Any, stop: threading.Event, interval: float, schedules: bool) -> None:
    """Alarm evaluation and schedule firing until ``stop`` is set; errors are reported, not fatal."""
    from ..localcloud.scheduler import rate_of, scheduled_targets

    next_fire: dict[str, dt.datetime] = {}
    while not stop.wait(interval):
        try:
            for change in cloud.evaluate_alarms():
                _say(f"[alarm] {change.alarm_name}: {change.old_state} -> {change.new_state}")
            if not schedules:
                continue
            now = cloud.now
            rules = {t.rule_name: t for t in scheduled_targets(cloud.client("events"))}  # one fire per rule
            for target in rules.values():
                period = rate_of(target.schedule)
                if period is None or not target.enabled:
                    continue
                due = next_fire.setdefault(target.rule_name, now + period)
                if now >= due:
                    next_fire[target.rule_name] = now + period
                    cloud.fire_schedule(target.rule_name)
        except Exception as exc:  # keep serving; say what went wrong
            print(f"[local] background work failed: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
