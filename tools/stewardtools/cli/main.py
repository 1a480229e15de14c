"""Entry point of `steward`: discovers command modules in this package by name.

Exit codes: 0 success; 1 the check ran and found a problem (drift, failed audit, gate said no);
2 usage or input error (bad spec, missing file); 3 infrastructure error (AWS/local cloud call).
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Sequence

from modelsteward import __version__
from modelsteward.errors import InvalidInput, StewardError

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE, EXIT_INFRA = 0, 1, 2, 3


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="steward",
        description="Model Steward: monitoring, retraining and governance for ML models on AWS "
        "(or on the local cloud, with no AWS account).",
        epilog="Exit codes: 0 ok, 1 findings (drift, failed audit, rejected), 2 bad input, 3 cloud error.",
    )
    parser.add_argument("--version", action="version", version=f"steward {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    package = importlib.import_module(__package__ or "stewardtools.cli")
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        if info.name == "main" or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except InvalidInput as exc:
        print(f"steward: error: {exc.message}", file=sys.stderr)
        return EXIT_USAGE
    except StewardError as exc:
        print(f"steward: error: {exc.message}", file=sys.stderr)
        return EXIT_INFRA
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
