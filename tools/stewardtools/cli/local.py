"""`steward local up`: the whole stack on 127.0.0.1, for the AWS CLI and boto3 (no Docker, no account).

    steward local up [--port N] [--models a,b] [--state-dir D] [--alarm-interval S]
                     [--parameter-overrides Key=Value ...]
    steward local advance --hours H [--state-dir D]     # let simulated time pass

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
    steward local advance --hours 25   # a day passes: schedules fire, alarms evaluate, cooldowns
                                       # and freshness age (the running cloud does it, hour by hour)

Exit codes: 0 stopped cleanly; 2 bad arguments; 3 the local cloud could not start.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from stewardtools.cli.main import EXIT_OK

READY_PREFIX = "READY "


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "local",
        help="run the stack locally on moto (no Docker, no AWS account)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
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
    up.add_argument(
        "--parameter-overrides",
        nargs="+",
        default=[],
        metavar="KEY=VALUE",
        help="template parameters, as `sam deploy` takes them (e.g. ScaleOutBytes=1048576)",
    )
    up.set_defaults(func=_up)
    advance = sub.add_parser(
        "advance",
        help="let simulated time pass on a running `steward local up` (schedules fire, alarms evaluate)",
        description="Ask the running local cloud to move its clock forward, hour by hour: every rate(...) "
        "schedule that falls due fires (check_window's freshness check, run_audit, scheduled retrains), "
        "alarms are evaluated, cooldowns and freshness age. Waits for it and prints what happened.",
    )
    advance.add_argument("--hours", type=float, default=0.0, help="hours to pass")
    advance.add_argument("--days", type=float, default=0.0, help="days to pass (added to --hours)")
    advance.add_argument(
        "--state-dir", type=Path, default=None, help="the state dir of `local up` (default ./.steward/local)"
    )
    advance.add_argument("--timeout", type=float, default=600.0, help="seconds to wait (default %(default)s)")
    advance.set_defaults(func=_advance)


def _say(text: str) -> None:
    print(text, flush=True)


def _up(args: argparse.Namespace) -> int:
    from stewardtools.localcloud.deploy import LocalCloud, port_is_free

    if args.alarm_interval <= 0:
        raise _usage("--alarm-interval must be positive")
    if args.port and not port_is_free(args.host, args.port):
        raise _usage(f"port {args.port} on {args.host} is in use: pass another --port (0 = any free port)")
    models = [m.strip() for m in str(args.models).split(",") if m.strip()]
    overrides = dict(_override(item) for item in args.parameter_overrides)
    stop = threading.Event()
    cloud = LocalCloud(
        template=args.template,
        models=models,
        state_dir=args.state_dir,
        serve=True,
        host=args.host,
        port=args.port,
        stage=args.stage,
        alert_email=args.alert_email,
        parameters=overrides,
        echo=None if args.quiet else lambda line: _say(f"[lambda] {line}"),
    )
    _say("starting the local cloud (translating template.yaml, creating the stack in moto) ...")
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        with cloud:
            _print_banner(cloud, args)
            worker = threading.Thread(
                target=_background,
                args=(cloud, stop, args.alarm_interval, not args.no_schedules),
                name="steward-local-clock",
                daemon=True,
            )
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


def _override(item: str) -> tuple[str, str]:
    key, sep, value = item.partition("=")
    if not sep or not key.strip():
        raise _usage(f"--parameter-overrides takes Key=Value pairs, not {item!r}")
    return key.strip(), value


def _usage(message: str) -> Exception:
    from modelsteward.errors import InvalidInput

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
        "Let time pass (a day of schedules, alarms, cooldowns and freshness in seconds):",
        f"  steward local advance --hours 25 --state-dir {cloud.state_dir}",
        f"{READY_PREFIX}{endpoint}",
    ]
    _say("\n".join(lines))


def _background(cloud: Any, stop: threading.Event, interval: float, schedules: bool) -> None:
    """Alarm evaluation, schedule firing and `steward local advance` requests until ``stop`` is set;
    errors are reported, not fatal."""
    from stewardtools.localcloud.scheduler import ScheduleTracker
    from stewardtools.localcloud.time_requests import TimeRequests

    tracker = ScheduleTracker()
    requests = TimeRequests(cloud.state_dir)
    last = time.monotonic()
    while not stop.wait(0.5):
        try:
            for request in requests.pending():
                try:
                    outcome = cloud.pass_time(request.hours, tracker=tracker)
                except Exception as exc:  # the caller hears why instead of waiting for nothing
                    requests.answer(request, {"error": f"{type(exc).__name__}: {exc}"})
                    raise
                requests.answer(request, outcome)
                _say(
                    f"[clock] {request.hours:g} h passed: now {outcome['now']}; schedules fired "
                    f"{len(outcome['fired'])}, alarm changes {len(outcome['alarm_changes'])}"
                )
            if time.monotonic() - last < interval:
                continue
            last = time.monotonic()
            for change in cloud.evaluate_alarms():
                _say(f"[alarm] {change.alarm_name}: {change.old_state} -> {change.new_state}")
            if schedules:
                for rule in tracker.due(cloud.client("events"), cloud.now):
                    cloud.fire_schedule(rule)
        except Exception as exc:  # keep serving; say what went wrong
            print(f"[local] background work failed: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)


def _advance(args: argparse.Namespace) -> int:
    from stewardtools.localcloud.deploy import LocalCloud
    from stewardtools.localcloud.time_requests import TimeRequests

    hours = args.hours + 24 * args.days
    if hours <= 0:
        raise _usage("give --hours and/or --days (a positive amount of time)")
    state_dir = (args.state_dir or LocalCloud.default_state_dir()).resolve()
    if not (state_dir / "stack.json").exists():
        raise _usage(f"no local cloud runs with state dir {state_dir}: start `steward local up` first")
    outcome = TimeRequests(state_dir).ask(hours, timeout=args.timeout)
    _say(f"{hours:g} h passed; the local cloud's clock is now {outcome['now']}")
    for rule in outcome["fired"]:
        _say(f"  schedule fired: {rule}")
    for change in outcome["alarm_changes"]:
        _say(f"  alarm {change['alarm_name']}: {change['old_state']} -> {change['new_state']}")
    return EXIT_OK
