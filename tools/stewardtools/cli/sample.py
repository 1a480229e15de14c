"""`steward sample-data`: realistic example data for the example specs (no downloads).

Writes CSV, Parquet or JSON Lines (optionally gzip) for one of the example models in
examples/specs/, with a drift knob, so every upload path can be tried in minutes:

    steward sample-data credit-default --rows 5000 --out train.csv
    steward sample-data credit-default --rows 2000 --drift 1 --no-labels --out batch.parquet
"""

from __future__ import annotations

import argparse
import gzip
import io
from pathlib import Path
from typing import Any

from modelsteward.errors import InvalidInput

#: stewardtools.datasets.EXAMPLES's names, without importing pandas for every `steward` command
EXAMPLE_MODELS = ("credit-default", "house-price", "product-category")


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "sample-data",
        help="write example data for an example spec (binary, multiclass, regression)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("model", choices=EXAMPLE_MODELS, help="example model (examples/specs/<model>.yaml)")
    p.add_argument(
        "--out",
        type=Path,
        required=True,
        help="output file: .csv, .parquet or .jsonl, optionally ending in .gz",
    )
    p.add_argument("--rows", type=int, default=5000, help="rows (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0, help="random seed; use a new one per batch (default: 0)")
    p.add_argument(
        "--drift",
        type=float,
        default=0.0,
        help="0 = training distribution, 1 = strong covariate and concept shift",
    )
    p.add_argument("--no-labels", action="store_true", help="omit the target (inference/scoring batches)")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from stewardtools.datasets import generate

    if args.rows < 1:
        raise InvalidInput("--rows must be at least 1", code="bad_argument")
    frame = generate(args.model, args.rows, seed=args.seed, drift=args.drift, labeled=not args.no_labels)
    name = args.out.name.removesuffix(".gz")
    buf = io.BytesIO()
    if name.endswith(".csv"):
        frame.to_csv(buf, index=False)
    elif name.endswith(".parquet"):
        frame.to_parquet(buf, index=False)
    elif name.endswith((".jsonl", ".ndjson")):
        frame.to_json(buf, orient="records", lines=True, date_format="iso")
    else:
        raise InvalidInput(
            f"--out {args.out}: use a .csv, .parquet or .jsonl name (optionally .gz)", code="bad_argument"
        )
    body = buf.getvalue()
    if args.out.name.endswith(".gz"):
        body = gzip.compress(body, mtime=0)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(body)
    print(f"wrote {len(frame)} rows of {args.model} (drift {args.drift}) to {args.out}")
    return 0
