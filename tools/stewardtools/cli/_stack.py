"""What every stack-facing command shares: ``--stack`` / ``--endpoint-url`` and the Context they name.

Resource names come from the deployed stack's outputs (``--stack``, default ``$STEWARD_STACK`` or
``model-steward``); ``--endpoint-url`` (default ``$AWS_ENDPOINT_URL``) points at the local cloud.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

DEFAULT_STACK = "model-steward"


def stack_arguments(*, json_flag: bool = True) -> argparse.ArgumentParser:
    """A parent parser with the shared options (``parents=[stack_arguments()]``)."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--stack",
        default=os.environ.get("STEWARD_STACK", DEFAULT_STACK),
        help="CloudFormation stack whose outputs name the buckets and tables "
        "(default: $STEWARD_STACK or %(default)s)",
    )
    common.add_argument(
        "--endpoint-url",
        default=os.environ.get("AWS_ENDPOINT_URL"),
        help="AWS endpoint, e.g. http://127.0.0.1:4566 for `steward local up` (default: $AWS_ENDPOINT_URL)",
    )
    if json_flag:
        common.add_argument("--json", action="store_true", help="print JSON instead of text")
    return common


def use_endpoint(args: argparse.Namespace) -> None:
    """Point every client built from now on at ``--endpoint-url`` (the local cloud)."""
    if getattr(args, "endpoint_url", None):
        from modelsteward.adapters.aws import reset_clients

        os.environ["AWS_ENDPOINT_URL"] = args.endpoint_url
        reset_clients()


def stack_context(args: argparse.Namespace) -> Any:
    """The Context of the stack named by ``--stack``, acting as ``cli:<OS user>``."""
    use_endpoint(args)
    from stewardtools.operations.context import cli_context

    return cli_context(args.stack)
