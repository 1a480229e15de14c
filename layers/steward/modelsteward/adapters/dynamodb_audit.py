"""AuditLog on DynamoDB (the chain) with a locked copy of every record in an Object Lock bucket.

Table: ``pk`` = chain id (S), ``sk`` = seq (N). An append reads the head (highest seq, strongly
consistent), builds the next record on the head's hash, and writes it with
``attribute_not_exists(sk)``: a writer that lost the race re-reads the head and retries, so
concurrent writers always produce one linear chain without gaps or overwrites.

Export: after the table write (the table is the source of truth for ordering), the record is
copied to ``audit/<chain>/<seq:012d>.json`` in the audit bucket and the item is marked
``exported``. If that copy fails the append still succeeds; the next append finds the unmarked
items behind the head (walking back until an exported one) and exports them first, but only a
record whose hash matches its content and links to its predecessor: a record rewritten in the
table is never laundered into the locked copy. Retention is the bucket's default Object Lock
retention, or an explicit ``retention_mode``/``retention_days`` per object when given.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import random
import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal, cast

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import BotoCoreError, ClientError

from ..clock import utcnow
from ..domain.audit_chain import GENESIS_HASH, AuditRecord, build_record, normalize
from ..errors import ConflictError
from ..layout import audit_export_key, audit_export_prefix
from ..ports import ObjectStore
from .aws import client, translate

log = logging.getLogger(__name__)

_SERIALIZER = TypeSerializer()
_DESERIALIZER = TypeDeserializer()
_KEY_ATTRS = ("pk", "sk", "exported")
_REEXPORT_WINDOW = 25
_SETTLE_SECONDS = 30  # a younger unexported record is left to its own writer


def _to_dynamo(value: Any) -> Any:
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, dict):
        return {k: _to_dynamo(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_to_dynamo(v) for v in value]
    return value


def _item(chain: str, record: AuditRecord) -> dict[str, Any]:
    body = {"pk": chain, "sk": record.seq, **_to_dynamo(record.body())}
    return {k: _SERIALIZER.serialize(v) for k, v in body.items()}


def _from_item(item: Mapping[str, Any]) -> dict[str, Any]:
    plain = {k: _DESERIALIZER.deserialize(v) for k, v in item.items()}
    plain.setdefault("seq", plain.get("sk"))
    return cast(dict[str, Any], normalize({k: v for k, v in plain.items() if k not in _KEY_ATTRS}))


@dataclass
class ExportSnapshot:
    """The locked copies: the original (oldest) version of each key, and keys rewritten later."""

    records: list[dict[str, Any]] = field(default_factory=list)
    overwritten: list[int] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)


class DynamoAuditLog:
    def __init__(
        self,
        table_name: str,
        *,
        export_bucket: str | None = None,
        store: ObjectStore | None = None,
        chain_id: str = "audit",
        dynamodb_client: Any | None = None,
        s3_client: Any | None = None,
        retention_mode: Literal["GOVERNANCE", "COMPLIANCE"] | None = None,
        retention_days: int | None = None,
        clock: Callable[[], dt.datetime] | None = None,
        max_attempts: int = 64,
    ) -> None:
        self.table_name = table_name
        self.export_bucket = export_bucket or None
        self.store = store  # accepted for Context wiring; the export needs Object Lock headers (S3 client)
        self.chain_id = chain_id
        self._ddb = dynamodb_client
        self._s3 = s3_client
        self.retention_mode = retention_mode
        self.retention_days = retention_days
        self._clock = clock or utcnow
        self.max_attempts = max_attempts

    # --- clients -------------------------------------------------------------------------------
    @property
    def ddb(self) -> Any:
        if self._ddb is None:
            self._ddb = client("dynamodb")
        return self._ddb

    @property
    def s3(self) -> Any:
        if self._s3 is None:
            self._s3 = client("s3")
        return self._s3

    # --- reads ---------------------------------------------------------------------------------
    def _query(self, **kwargs: Any) -> dict[str, Any]:
        try:
            return dict(
                self.ddb.query(
                    TableName=self.table_name,
                    KeyConditionExpression="pk = :pk" + kwargs.pop("sk_condition", ""),
                    ExpressionAttributeValues={":pk": {"S": self.chain_id}, **kwargs.pop("values", {})},
                    ConsistentRead=True,
                    **kwargs,
                )
            )
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc, f"query audit table {self.table_name}") from exc

    def head_item(self) -> dict[str, Any] | None:
        """The raw item with the highest seq (``exported`` marker included), or None."""
        items = self._query(ScanIndexForward=False, Limit=1).get("Items", [])
        return items[0] if items else None

    def head(self) -> dict[str, Any] | None:
        item = self.head_item()
        return _from_item(item) if item else None

    def records(self) -> Sequence[dict[str, Any]]:
        """Every record in seq order (paginated, strongly consistent), as stored."""
        out: list[dict[str, Any]] = []
        start: dict[str, Any] | None = None
        while True:
            kwargs: dict[str, Any] = {"ScanIndexForward": True}
            if start:
                kwargs["ExclusiveStartKey"] = start
            page = self._query(**kwargs)
            out.extend(_from_item(i) for i in page.get("Items", []))
            start = page.get("LastEvaluatedKey")
            if not start:
                return out

    # --- append --------------------------------------------------------------------------------
    def append(self, event: Mapping[str, Any]) -> dict[str, Any]:
        """Append one record at the head; returns the stored record (seq, hash, ...).

        A writer that lost the race re-reads the head (one strongly consistent Query, which jumps
        over every record written meanwhile) and retries, backing off with jitter after the first
        loss so that a crowd of writers spreads out.
        """
        head = self.head_item()
        for attempt in range(self.max_attempts):
            plain = _from_item(head) if head else None
            seq = int(plain.get("seq") or 0) + 1 if plain else 1
            prev = str(plain.get("hash") or GENESIS_HASH) if plain else GENESIS_HASH
            record = build_record(event, seq=seq, prev_hash=prev, at=self._clock())
            try:
                self.ddb.put_item(
                    TableName=self.table_name,
                    Item=_item(self.chain_id, record),
                    ConditionExpression="attribute_not_exists(sk)",
                )
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                    raise translate(exc, f"append to audit table {self.table_name}") from exc
                if self._landed(record):  # botocore retried a put whose first answer was lost
                    return self._finish(record, head)
                time.sleep(random.uniform(0, min(0.2, 0.004 * 2 ** min(attempt, 6))))  # nosec B311 - jitter
                head = self.head_item()
                continue
            except BotoCoreError as exc:
                raise translate(exc, f"append to audit table {self.table_name}") from exc
            return self._finish(record, head)
        raise ConflictError(
            f"audit append lost the race {self.max_attempts} times in a row on {self.table_name}; retry later"
        )

    def _finish(self, record: AuditRecord, head: dict[str, Any] | None) -> dict[str, Any]:
        if self.export_bucket:
            if head is not None and "exported" not in head:
                self._export_behind(record.seq)
            self._export_and_mark(record)
        return record.body()

    def _landed(self, record: AuditRecord) -> bool:
        """Is the item at this seq our own record? A put that timed out or got a 5xx after DynamoDB
        applied it is retried by botocore and then fails its condition against itself."""
        items = self._query(
            sk_condition=" AND sk = :seq", values={":seq": {"N": str(record.seq)}}, Limit=1
        ).get("Items", [])
        return bool(items) and _from_item(items[0]).get("hash") == record.hash

    # --- export --------------------------------------------------------------------------------
    def _export_behind(self, seq: int) -> None:
        """Export records behind ``seq`` that are not marked exported (a previous export failed)."""
        page = self._query(
            sk_condition=" AND sk < :seq",
            values={":seq": {"N": str(seq)}},
            ScanIndexForward=False,
            Limit=_REEXPORT_WINDOW,
        ).get("Items", [])
        pending: list[dict[str, Any]] = []
        anchor: dict[str, Any] | None = None
        for item in page:
            if "exported" in item:
                anchor = _from_item(item)
                break
            pending.append(_from_item(item))
        prev_hash = (
            str(anchor["hash"])
            if anchor
            else (GENESIS_HASH if pending and pending[-1].get("seq") == 1 else None)
        )
        settled = self._clock() - dt.timedelta(seconds=_SETTLE_SECONDS)
        for plain in reversed(pending):
            try:
                rec = AuditRecord.model_validate(plain)
            except ValueError:
                log.warning("audit record seq %s is malformed; not exported", plain.get("seq"))
                return
            if rec.when > settled:
                return  # its writer is probably exporting it right now; a later append catches up
            if rec.hash != rec.expected_hash() or (prev_hash is not None and rec.prev_hash != prev_hash):
                log.warning("audit record seq %s does not verify; not exported", rec.seq)
                return
            self._export_and_mark(rec)
            prev_hash = rec.hash

    def _export_and_mark(self, record: AuditRecord) -> None:
        if not self.export_bucket:
            return
        key = audit_export_key(self.chain_id, record.seq)
        body = json.dumps(record.body(), sort_keys=True, ensure_ascii=False, allow_nan=False).encode("utf-8")
        try:
            self._put_export(key, body, record)
            self.ddb.update_item(
                TableName=self.table_name,
                Key={"pk": {"S": self.chain_id}, "sk": {"N": str(record.seq)}},
                UpdateExpression="SET exported = :t",
                ConditionExpression="attribute_exists(sk)",
                ExpressionAttributeValues={":t": {"BOOL": True}},
            )
        except Exception as exc:  # the record is in the table; the next append exports it
            log.warning(
                "audit export of seq %s failed (%s); it will be retried", record.seq, type(exc).__name__
            )

    def _put_export(self, key: str, body: bytes, record: AuditRecord) -> None:
        """PutObject with a SHA-256 checksum header (S3 requires an integrity header for uploads to
        a bucket with Object Lock retention) and, when configured, explicit retention."""
        bucket = str(self.export_bucket)
        kwargs: dict[str, Any] = {
            "Bucket": bucket,
            "Key": key,
            "Body": body,
            "ContentType": "application/json",
            "Metadata": {"chain": self.chain_id, "seq": str(record.seq), "record-hash": record.hash},
            "ChecksumAlgorithm": "SHA256",
        }
        if self.retention_mode and self.retention_days:
            kwargs["ObjectLockMode"] = self.retention_mode
            kwargs["ObjectLockRetainUntilDate"] = self._clock() + dt.timedelta(days=self.retention_days)
        try:
            self.s3.put_object(**kwargs)
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc, f"export audit record to s3://{bucket}/{key}") from exc

    def export_snapshot(self, *, workers: int = 8) -> ExportSnapshot | None:
        """Read the locked copies: the oldest version of each key is the original record.

        A later version of the same key (S3 lets a writer add versions; Object Lock only keeps old
        ones from being deleted or changed) is reported in ``overwritten`` when its content differs.
        None when this log has no export bucket.
        """
        if not self.export_bucket:
            return None
        snapshot = ExportSnapshot()
        # S3 lists the versions of a key newest first; LastModified has one-second resolution, so the
        # listing position breaks ties (oldest = earliest time, then latest position).
        versions: dict[str, list[tuple[dt.datetime, int, str]]] = defaultdict(list)
        position = 0
        try:
            pages = self.s3.get_paginator("list_object_versions").paginate(
                Bucket=self.export_bucket, Prefix=audit_export_prefix(self.chain_id)
            )
            for page in pages:
                for v in page.get("Versions", []):
                    position += 1
                    versions[v["Key"]].append((v["LastModified"], -position, v["VersionId"]))
        except (ClientError, BotoCoreError) as exc:
            raise translate(
                exc, f"list s3://{self.export_bucket}/{audit_export_prefix(self.chain_id)}"
            ) from exc

        def read(key: str) -> tuple[str, dict[str, Any] | None, bool]:
            ordered = [vid for _, _, vid in sorted(versions[key])]
            bodies = [self._get_json(key, vid) for vid in ordered]
            original = bodies[0]
            changed = any(b != original for b in bodies[1:])
            return key, original, changed

        with ThreadPoolExecutor(max_workers=workers) as pool:
            results = list(pool.map(read, sorted(versions)))
        for key, original, changed in results:
            if original is None:
                snapshot.unreadable.append(key)
                continue
            snapshot.records.append(original)
            if changed:
                snapshot.overwritten.append(int(original.get("seq") or 0))
        snapshot.records.sort(key=lambda r: int(r.get("seq") or 0))
        return snapshot

    def _get_json(self, key: str, version_id: str) -> dict[str, Any] | None:
        try:
            body = self.s3.get_object(Bucket=self.export_bucket, Key=key, VersionId=version_id)["Body"].read()
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc, f"get s3://{self.export_bucket}/{key}") from exc
        try:
            data = json.loads(body)
        except ValueError:
            return None
        return normalize(data) if isinstance(data, dict) else None
