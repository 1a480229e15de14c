"""Fault injection on the adapters' cached boto3 clients, per attempt (below botocore's retries).

A handler on ``before-send.<service>.<Operation>`` runs for every HTTP attempt, before moto sees
the request; returning a response short-circuits it, raising ``ReadTimeoutError`` looks like a
socket timeout. So ``times=1..5`` is absorbed by the adapters' standard retries
and ``times=MAX_ATTEMPTS`` (6: the initial attempt + botocore's 5 retries) exhausts them for one API
call; later calls pass (the cloud recovered).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from botocore.awsrequest import AWSResponse
from botocore.compat import HTTPHeaders
from botocore.exceptions import ReadTimeoutError
from moto.core.botocore_stubber import MockRawResponse

# adapters/aws.py: Config(retries={"max_attempts": 5}) means 5 *retries* (botocore turns it into
# total_max_attempts = 6), so 5 failed attempts are absorbed and the 6th decides.
MAX_ATTEMPTS = 6

# fault -> per-protocol error (status, code)
ERRORS: dict[str, dict[str, tuple[int, str]]] = {
    "throttle": {
        "s3": (503, "SlowDown"),
        "dynamodb": (400, "ProvisionedThroughputExceededException"),
        "sns": (400, "Throttling"),
        "lambda": (429, "TooManyRequestsException"),
    },
    "5xx": {
        "s3": (500, "InternalError"),
        "dynamodb": (500, "InternalServerError"),
        "sns": (500, "InternalError"),
        "lambda": (500, "ServiceException"),
    },
}
FAULTS = ("throttle", "5xx", "timeout")
# "lost_response": the service applied the request but the answer was a 5xx (an ambiguous write)


def _headers(items: dict[str, str]) -> HTTPHeaders:
    headers = HTTPHeaders()
    for name, value in items.items():
        headers[name] = value
    return headers


def _response(service: str, url: str, fault: str) -> AWSResponse:
    status, code = ERRORS[fault][service]
    if service == "s3":
        body = f"<Error><Code>{code}</Code><Message>injected {fault}</Message></Error>".encode()
        return AWSResponse(url, status, _headers({}), MockRawResponse(body))
    if service == "dynamodb":
        text = json.dumps(
            {"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": f"injected {fault}"}
        )
        return AWSResponse(url, status, _headers({"x-amzn-ErrorType": code}), MockRawResponse(text.encode()))
    if service == "lambda":
        text = json.dumps({"Type": "Service", "message": f"injected {fault}"})
        return AWSResponse(url, status, _headers({"x-amzn-ErrorType": code}), MockRawResponse(text.encode()))
    body = (
        f"<ErrorResponse><Error><Type>Server</Type><Code>{code}</Code><Message>injected {fault}</Message>"
        "</Error><RequestId>injected</RequestId></ErrorResponse>"
    ).encode()
    return AWSResponse(url, status, _headers({}), MockRawResponse(body))


@dataclass
class Injection:
    """Counts what was injected; ``skip`` lets the first matching attempts through."""

    service: str
    operation: str
    fault: str
    times: int
    skip: int = 0
    match: Callable[[Any], bool] | None = None
    seen: int = 0
    injected: int = 0
    passed: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()

    def __call__(self, request: Any, **_: Any) -> AWSResponse | None:
        if self.match is not None and not self.match(request):
            return None
        with self._lock:
            self.seen += 1
            if self.seen <= self.skip or self.injected >= self.times:
                self.passed += 1
                return None
            self.injected += 1
        if self.fault == "timeout":
            raise ReadTimeoutError(endpoint_url=request.url)
        if self.fault != "lost_response":  # the request never reaches the service
            _REFUSED.add(id(request))
        return _response(self.service, request.url, "5xx" if self.fault == "lost_response" else self.fault)


# ``before-send`` handlers all run (botocore emits, it does not stop at the first response), and moto's
# stubber is one of them: requests we answered with an error are skipped there, so they never apply.
_REFUSED: set[int] = set()


def _install_refusal() -> None:
    from moto.core.botocore_stubber import BotocoreStubber

    if getattr(BotocoreStubber, "_fault_aware", False):
        return
    original = BotocoreStubber.__call__

    def __call__(self: Any, event_name: str, request: Any, **kwargs: Any) -> Any:
        if id(request) in _REFUSED:
            _REFUSED.discard(id(request))
            return None
        return original(self, event_name, request, **kwargs)

    BotocoreStubber.__call__ = __call__  # type: ignore[method-assign]
    BotocoreStubber._fault_aware = True  # type: ignore[attr-defined]


def body_has(fragment: str) -> Callable[[Any], bool]:
    """Match requests whose URL or body names ``fragment`` (a bucket, a table)."""

    def match(request: Any) -> bool:
        body = request.body
        if hasattr(body, "read"):  # a streamed S3 body: the bucket is in the URL anyway
            body = b""
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body or "")
        return fragment in request.url or fragment in text

    return match


@contextmanager
def inject(
    service: str,
    operation: str,
    fault: str,
    times: int,
    *,
    skip: int = 0,
    match: Callable[[Any], bool] | None = None,
) -> Iterator[Injection]:
    """Fail ``times`` attempts of ``service.operation`` on the adapters' cached client."""
    from modelsteward.adapters.aws import client

    _install_refusal()
    injection = Injection(service, operation, fault, times, skip, match)
    events = client(service).meta.events
    name = f"before-send.{service}.{operation}"
    events.register(name, injection, unique_id=f"fault-{id(injection)}")
    try:
        yield injection
    finally:
        events.unregister(name, unique_id=f"fault-{id(injection)}")
