"""A hostile and careless input corpus, shared by `steward check` and local-cloud tests.

Personal data planted where the spec says numbers, timestamps or predictions are; malicious specs
(billion laughs, deep nesting, oversize); decompression bombs under the ratio limit; and a walk
over every artifact a run wrote, asserting that no planted value appears in any of them.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gzip
import io
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from stewardtools.datasets import generate

MODEL = "credit-default"
SPEC_PATH = Path(__file__).resolve().parents[2] / "examples" / "specs" / f"{MODEL}.yaml"
START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def _luhn_complete(prefix: str) -> str:
    digits = [int(c) for c in prefix]
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 0:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return prefix + str((10 - total % 10) % 10)


def planted_values(kind: str, n: int, seed: int = 0) -> list[str]:
    """n distinct personal values of one kind, distinctive enough to search for."""
    out = []
    for i in range(n):
        k = seed * 1000 + i
        if kind == "email":
            out.append(f"leak.person{k}@victim-corp.example")
        elif kind == "card":
            number = _luhn_complete(f"4{k:014d}"[:15])
            out.append(f"{number[:4]} {number[4:8]} {number[8:12]} {number[12:]}")
        elif kind == "ssn":
            out.append(f"{212 + k % 400:03d}-{11 + k % 80:02d}-{1000 + k % 8999:04d}")
        else:
            raise ValueError(kind)
    return out


def needles(values: Iterable[str]) -> list[str]:
    """What must never appear: each value, and for numbers its digits without separators."""
    found = []
    for v in values:
        found.append(v)
        digits = "".join(c for c in v if c.isdigit())
        if len(digits) >= 9:
            found.append(digits)
        if "@" in v:
            found.append(v.split("@")[0])
    return found


def batch(n: int, seed: int, *, predictions: bool = True) -> pd.DataFrame:
    frame = generate(MODEL, n, seed=seed, start=START)
    frame["timestamp"] = frame["timestamp"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    if predictions:
        frame["prediction"] = frame["default"].astype(str)
        frame = frame.drop(columns=["default"])
    return frame


def plant(frame: pd.DataFrame, column: str, values: list[str], seed: int = 0) -> pd.DataFrame:
    """``values`` written into ``column`` at spread-out rows (the column becomes text)."""
    out = frame.copy()
    out[column] = out[column].astype(object)
    rows = [(seed + 7 + i * (len(out) // max(len(values), 1))) % len(out) for i in range(len(values))]
    for row, value in zip(rows, values, strict=True):
        out.at[row, column] = value
    return out


def csv_bytes(frame: pd.DataFrame) -> bytes:
    buf = io.StringIO()
    frame.to_csv(buf, index=False)
    return buf.getvalue().encode()


# --- malicious specs --------------------------------------------------------------------------
def billion_laughs_spec() -> bytes:
    """The real spec, with a YAML alias bomb hidden in an estimator parameter (~4 KB)."""
    text = SPEC_PATH.read_text()
    bomb = ['    categorical_features: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 9):
        refs = ",".join([f"*l{i - 1}"] * 9)
        bomb.append(f"    monotonic_cst_{i}: &l{i} [{refs}]")
    return text.replace("    max_iter: 150\n", "    max_iter: 150\n" + "\n".join(bomb) + "\n").encode()


def deep_spec(levels: int = 20_000) -> bytes:
    """The real spec with a parameter nested ``levels`` deep (flow style: small, deep)."""
    text = SPEC_PATH.read_text()
    deep = "    nested: " + "[" * levels + "1" + "]" * levels
    return text.replace("    max_iter: 150\n", "    max_iter: 150\n" + deep + "\n").encode()


def oversized_spec(size: int) -> bytes:
    """The real spec padded with a comment to ``size`` bytes."""
    text = SPEC_PATH.read_bytes()
    return text + b"# " + b"x" * max(size - len(text) - 3, 0) + b"\n"


def recursive_alias_spec() -> bytes:
    text = SPEC_PATH.read_text()
    return text.replace("    max_iter: 150\n", "    max_iter: 150\n    loop: &me [1, *me]\n").encode()


# --- decompression bombs ---------------------------------------------------------------------
def gzip_bomb(compressed_bytes: int, ratio: float = 131.0) -> bytes:
    """A valid gzip CSV of about ``compressed_bytes`` that expands about ``ratio`` times (below the
    200x ratio limit): constant rows, with random digits added whenever the running ratio is above
    the target."""
    import random

    rng = random.Random(1)
    constant = b"x,2026-01-01T00:00:00Z,40,50000\n" * 2048
    comp = zlib.compressobj(6, zlib.DEFLATED, 31)
    parts = [comp.compress(b"id,timestamp,age,annual_income\n")]
    size_in, size_out = 32, 0
    while size_out < compressed_bytes:
        if size_out and size_in / size_out > ratio:
            noise = ("".join(rng.choice("0123456789") for _ in range(4000)) + "\n").encode()
            chunk = noise
        else:
            chunk = constant
        size_in += len(chunk)
        piece = comp.compress(chunk) + comp.flush(zlib.Z_SYNC_FLUSH)
        size_out += len(piece)
        parts.append(piece)
    parts.append(comp.flush())
    return b"".join(parts)


def gzip_small(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


# --- walking what a run wrote ----------------------------------------------------------------
def text_of(blob: bytes | str) -> str:
    """Bytes as searchable text (gzip members are inflated first, bounded)."""
    if isinstance(blob, str):
        return blob
    if blob[:2] == b"\x1f\x8b":
        with contextlib.suppress(zlib.error):
            blob = zlib.decompressobj(31).decompress(blob, 64 * 2**20)
    return blob.decode("utf-8", "replace")


def leaks(haystacks: Iterable[tuple[str, bytes | str]], planted: Iterable[str]) -> list[tuple[str, str]]:
    """(where, needle) for every planted value found in any haystack."""
    wanted = needles(planted)
    found = []
    for where, blob in haystacks:
        text = text_of(blob)
        for needle in wanted:
            if needle in text:
                found.append((where, needle))
    return found


def files_under(folder: Path) -> Iterator[tuple[str, bytes]]:
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            yield str(path), path.read_bytes()


def all_s3_objects(s3: Any, *, skip: Any = None) -> Iterator[tuple[str, bytes]]:
    """Every version of every object in every bucket (``skip(bucket, key)`` leaves some out: the
    uploads themselves, which are the customer's data)."""
    for bucket in [b["Name"] for b in s3.list_buckets()["Buckets"]]:
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
            for version in page.get("Versions", []):
                key = version["Key"]
                if skip is not None and skip(bucket, key):
                    continue
                body = s3.get_object(Bucket=bucket, Key=key, VersionId=version["VersionId"])["Body"].read()
                yield f"s3://{bucket}/{key}?versionId={version['VersionId']}", body


def all_dynamodb_items(dynamodb: Any) -> Iterator[tuple[str, str]]:
    for table in dynamodb.list_tables()["TableNames"]:
        for page in dynamodb.get_paginator("scan").paginate(TableName=table):
            for item in page.get("Items", []):
                yield f"dynamodb:{table}", repr(item)


# --- the record for docs/reliability.md ---------------------------------------------------------
def record(suite: str, klass: str, case: str, outcome: str, **extra: Any) -> None:
    """One line per hostile case that held (call it after the case's assertions), for
    ``make reliability-report``; written only when RELIABILITY_RESULTS is set."""
    import json
    import os

    folder = os.environ.get("RELIABILITY_RESULTS")
    if not folder:
        return
    out = Path(folder) / "hostile"
    out.mkdir(parents=True, exist_ok=True)
    line = {"suite": suite, "class": klass, "case": case, "outcome": outcome, **extra}
    with (out / f"{suite.replace(' ', '-')}.jsonl").open("a", encoding="utf-8") as f:
        f.write(json.dumps(line, default=str) + "\n")
