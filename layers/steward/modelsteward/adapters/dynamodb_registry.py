"""The model registry on DynamoDB: version rows and one STATE row per model, decided by conditions.

Items (table key pk/sk, both strings)::

    pk=MODEL#<name>  sk=STATE   champion, challenger, traffic_share, state_version, version_counter,
                                champion_history, last_retrain_at, ... (retrain bookkeeping)
    pk=MODEL#<name>  sk=V#0001  version, status, alias, metrics, params, library_versions, lineage,
                                artifact, baseline_uri, card_uri, evaluation_uri, gate, triggered_by,
                                reason, created_at, decided_by, decided_at, decision_seq, ...

Guarantees (each a DynamoDB condition, so they hold across processes):

* ``next_version`` is an atomic counter (``ADD version_counter 1``): two trainings never share a number.
* ``put_version`` never overwrites a row.
* ``promote`` is one transaction: STATE's champion must still be ``expected_champion``; the new row
  must exist and be PendingManualApproval or Approved (never Rejected/Archived, and when given, its
  ``decision_seq`` must be the one the approver saw); the old champion row must still carry the alias.
  Two racing promotions: one commits, the other gets ConflictError. There is never a second champion.
* Every status change increments ``decision_seq``; a decision made on a stale read is refused.

Status of a replaced champion: it keeps ``Approved`` and loses its alias, so it stays a valid
rollback target. A rollback passes ``retire_current=True``: the version rolled back from becomes
``Archived`` (promotable no more). Floats are stored as Decimal and read back as int/float.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import BotoCoreError, ClientError

from ..clock import utcnow
from ..errors import ConflictError, NotFound
from .aws import client, translate

PENDING = "PendingManualApproval"
APPROVED = "Approved"
REJECTED = "Rejected"
ARCHIVED = "Archived"
STATUSES = (PENDING, APPROVED, REJECTED, ARCHIVED)
CHAMPION = "champion"
CHALLENGER = "challenger"
STATE_SK = "STATE"

_SERIALIZER = TypeSerializer()
_DESERIALIZER = TypeDeserializer()
_KEY_FIELDS = ("pk", "sk")


# --- value conversion -----------------------------------------------------------------------
def to_dynamo(value: Any) -> Any:
    """Python -> DynamoDB-safe Python: floats to Decimal (NaN/inf to None), tuples to lists."""
    if isinstance(value, bool) or value is None or isinstance(value, str | Decimal):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value) or abs(value) > 1e125:
            return None  # DynamoDB numbers span 1e-130..1e126 and have no NaN
        return Decimal(0) if abs(value) < 1e-120 else Decimal(repr(float(value)))
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return to_dynamo(value.item())
    if isinstance(value, Mapping):
        return {str(k): to_dynamo(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_dynamo(v) for v in value]
    if isinstance(value, set | frozenset):
        return [to_dynamo(v) for v in sorted(value, key=str)]
    return str(value)


def from_dynamo(value: Any) -> Any:
    """DynamoDB -> plain Python: integral Decimals to int, others to float."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, Mapping):
        return {k: from_dynamo(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [from_dynamo(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted(from_dynamo(v) for v in value)
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    return value


def _ser(value: Any) -> dict[str, Any]:
    return dict(_SERIALIZER.serialize(to_dynamo(value)))


def _item(raw: Mapping[str, Any]) -> dict[str, Any]:
    return {k: from_dynamo(_DESERIALIZER.deserialize(v)) for k, v in raw.items() if k not in _KEY_FIELDS}


def model_pk(model: str) -> str:
    return f"MODEL#{model}"


def version_sk(version: int) -> str:
    return f"V#{int(version):04d}"


class _Expr:
    """Builds expression attribute names/values with unique placeholders."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}
        self.values: dict[str, Any] = {}

    def name(self, attr: str) -> str:
        key = f"#n{len(self.names)}"
        self.names[key] = attr
        return key

    def value(self, v: Any) -> str:
        key = f":v{len(self.values)}"
        self.values[key] = _ser(v)
        return key

    def equals(self, attr: str, expected: Any) -> str:
        n = self.name(attr)
        if expected is None:
            return f"(attribute_not_exists({n}) OR {n} = {self.value(None)})"
        return f"{n} = {self.value(expected)}"

    def kwargs(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.names:
            out["ExpressionAttributeNames"] = self.names
        if self.values:
            out["ExpressionAttributeValues"] = self.values
        return out


class DynamoRegistry:
    """ports.Registry on one DynamoDB table (pk/sk strings)."""

    def __init__(self, table_name: str, dynamodb_client: Any | None = None) -> None:
        self.table_name = table_name
        self._client = dynamodb_client

    @property
    def ddb(self) -> Any:
        if self._client is None:
            self._client = client("dynamodb")
        return self._client

    def _key(self, model: str, sk: str) -> dict[str, Any]:
        return {"pk": {"S": model_pk(model)}, "sk": {"S": sk}}

    # --- reads ------------------------------------------------------------------------------
    def get_version(self, model: str, version: int) -> dict[str, Any]:
        try:
            resp = self.ddb.get_item(
                TableName=self.table_name, Key=self._key(model, version_sk(version)), ConsistentRead=True
            )
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc, f"read {model} v{version}") from exc
        if "Item" not in resp:
            raise NotFound(f"model '{model}' has no version {version}")
        return _item(resp["Item"])

    def list_versions(self, model: str) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :v)",
            "ExpressionAttributeValues": {":pk": {"S": model_pk(model)}, ":v": {"S": "V#"}},
            "ConsistentRead": True,
        }
        try:
            while True:
                resp = self.ddb.query(**kwargs)
                rows.extend(_item(i) for i in resp.get("Items", []))
                if "LastEvaluatedKey" not in resp:
                    break
                kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc, f"list versions of {model}") from exc
        return sorted(rows, key=lambda r: int(r.get("version", 0)))

    def get_model_state(self, model: str) -> dict[str, Any]:
        """STATE of a model; defaults (no champion, state_version 0) when it was never written."""
        try:
            resp = self.ddb.get_item(
                TableName=self.table_name, Key=self._key(model, STATE_SK), ConsistentRead=True
            )
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc, f"read state of {model}") from exc
        state: dict[str, Any] = {
            "model": model,
            "champion": None,
            "challenger": None,
            "traffic_share": 0.0,
            "state_version": 0,
            "version_counter": 0,
            "champion_history": [],
        }
        state.update(_item(resp.get("Item", {})))
        state["exists"] = "Item" in resp
        return state

    def champion(self, model: str) -> dict[str, Any] | None:
        version = self.get_model_state(model).get("champion")
        return None if version is None else self.get_version(model, int(version))

    def list_models(self) -> list[str]:
        models: list[str] = []
        kwargs: dict[str, Any] = {
            "TableName": self.table_name,
            "FilterExpression": "sk = :state",
            "ExpressionAttributeValues": {":state": {"S": STATE_SK}},
            "ProjectionExpression": "pk",
        }
        try:
            while True:
                resp = self.ddb.scan(**kwargs)
                models.extend(i["pk"]["S"].removeprefix("MODEL#") for i in resp.get("Items", []))
                if "LastEvaluatedKey" not in resp:
                    break
                kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc, "list models") from exc
        return sorted(set(models))

    # --- writes -----------------------------------------------------------------------------
    def next_version(self, model: str) -> int:
        try:
            resp = self.ddb.update_item(
                TableName=self.table_name,
                Key=self._key(model, STATE_SK),
                UpdateExpression="ADD version_counter :one SET model_name = :m",
                ExpressionAttributeValues={":one": {"N": "1"}, ":m": {"S": model}},
                ReturnValues="UPDATED_NEW",
            )
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc, f"allocate a version of {model}") from exc
        return int(resp["Attributes"]["version_counter"]["N"])

    def put_version(self, model: str, version: int, row: Mapping[str, Any]) -> None:
        data: dict[str, Any] = {"status": PENDING, "alias": None, "decision_seq": 0, **dict(row)}
        data.update(model=model, version=int(version))
        if data["status"] not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}")
        item = {k: _ser(v) for k, v in data.items() if k not in _KEY_FIELDS}
        item.update(self._key(model, version_sk(version)))
        try:
            self.ddb.put_item(
                TableName=self.table_name, Item=item, ConditionExpression="attribute_not_exists(pk)"
            )
        except (ClientError, BotoCoreError) as exc:
            err = translate(exc, f"register {model} v{version}")
            if isinstance(err, ConflictError):
                raise ConflictError(
                    f"{model} v{version} is already registered; versions are never overwritten"
                ) from exc
            raise err from exc

    def update_version(
        self,
        model: str,
        version: int,
        changes: Mapping[str, Any],
        *,
        expected: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Set fields of a version row if ``expected`` holds; a status change bumps ``decision_seq``."""
        if "status" in changes and changes["status"] not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}")
        if not changes:
            raise ValueError("update_version needs at least one change")
        expr = _Expr()
        sets = [
            f"{expr.name(k)} = {expr.value(v)}"
            for k, v in changes.items()
            if k not in (*_KEY_FIELDS, "decision_seq", "model", "version")
        ]
        update = "SET " + ", ".join(sets) if sets else ""
        if "status" in changes:
            update += f" ADD {expr.name('decision_seq')} {expr.value(1)}"
        conditions = ["attribute_exists(pk)"] + [expr.equals(k, v) for k, v in (expected or {}).items()]
        try:
            resp = self.ddb.update_item(
                TableName=self.table_name,
                Key=self._key(model, version_sk(version)),
                UpdateExpression=update.strip(),
                ConditionExpression=" AND ".join(conditions),
                ReturnValues="ALL_NEW",
                **expr.kwargs(),
            )
        except (ClientError, BotoCoreError) as exc:
            err = translate(exc, f"update {model} v{version}")
            if isinstance(err, ConflictError):
                raise self._explain_version_conflict(model, version, expected or {}) from exc
            raise err from exc
        return _item(resp["Attributes"])

    def update_model_state(
        self, model: str, changes: Mapping[str, Any], *, expected: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """Set STATE fields if ``expected`` holds (e.g. ``{"state_version": n}``); bumps state_version."""
        expr = _Expr()
        sets = [
            f"{expr.name(k)} = {expr.value(v)}"
            for k, v in changes.items()
            if k not in (*_KEY_FIELDS, "state_version", "version_counter", "exists")
        ]
        sets.append(f"{expr.name('model_name')} = {expr.value(model)}")
        update = "SET " + ", ".join(sets) + f" ADD {expr.name('state_version')} {expr.value(1)}"
        conditions = []
        for k, v in (expected or {}).items():
            if k == "state_version" and int(v) == 0:
                n = expr.name(k)
                conditions.append(f"(attribute_not_exists({n}) OR {n} = {expr.value(0)})")
            else:
                conditions.append(expr.equals(k, v))
        kwargs: dict[str, Any] = {}
        if conditions:
            kwargs["ConditionExpression"] = " AND ".join(conditions)
        try:
            resp = self.ddb.update_item(
                TableName=self.table_name,
                Key=self._key(model, STATE_SK),
                UpdateExpression=update,
                ReturnValues="ALL_NEW",
                **kwargs,
                **expr.kwargs(),
            )
        except (ClientError, BotoCoreError) as exc:
            err = translate(exc, f"update state of {model}")
            if isinstance(err, ConflictError):
                current = self.get_model_state(model)
                stale = {k: current.get(k) for k in (expected or {})}
                raise ConflictError(
                    f"state of '{model}' changed since it was read (expected {dict(expected or {})}, "
                    f"found {stale}); re-read and retry"
                ) from exc
            raise err from exc
        return _item(resp["Attributes"])

    def promote(
        self,
        model: str,
        version: int,
        *,
        actor: str,
        reason: str,
        expected_champion: int | None,
        expected_decision_seq: int | None = None,
        retire_current: bool = False,
        decided_at: str | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        """Make ``version`` the champion in one transaction (see the module docstring)."""

        when = decided_at or utcnow().isoformat()
        version = int(version)
        if expected_champion is not None and int(expected_champion) == version:
            state = self.get_model_state(model)
            if state.get("champion") == version:
                return  # already the champion: promoting again changes nothing
            raise ConflictError(
                f"{model} v{version} is not the champion any more (champion: v{state.get('champion')})"
            )
        state = self.get_model_state(model)
        items = [
            self._champion_update(
                model, version, expected_champion, when, state.get("challenger") == version
            ),
            self._promoted_row_update(model, version, actor, reason, when, expected_decision_seq, extra),
        ]
        if expected_champion is not None:
            items.append(
                self._replaced_row_update(
                    model, int(expected_champion), version, actor, reason, when, retire_current
                )
            )
        try:
            self.ddb.transact_write_items(TransactItems=items)
        except (ClientError, BotoCoreError) as exc:
            err = translate(exc, f"promote {model} v{version}")
            if isinstance(err, ConflictError):
                raise self._explain_promotion_conflict(
                    model, version, expected_champion, expected_decision_seq
                ) from exc
            raise err from exc

    def _champion_update(
        self, model: str, version: int, expected_champion: int | None, when: str, was_challenger: bool
    ) -> dict[str, Any]:
        """The model state's item: the new champion, conditioned on the champion the caller saw."""
        s = _Expr()
        s_cond = [s.equals("champion", expected_champion)]
        s_sets = [
            f"{s.name('champion')} = {s.value(version)}",
            f"{s.name('previous_champion')} = {s.value(expected_champion)}",
            f"{s.name('champion_history')} = list_append(if_not_exists({s.name('champion_history')}, "
            f"{s.value([])}), {s.value([version])})",
            f"{s.name('promoted_at')} = {s.value(when)}",
            f"{s.name('model_name')} = {s.value(model)}",
        ]
        if was_challenger:  # the challenger wins: it stops being a challenger
            s_cond.append(s.equals("challenger", version))
            s_sets += [
                f"{s.name('challenger')} = {s.value(None)}",
                f"{s.name('traffic_share')} = {s.value(0)}",
            ]
        return {
            "Update": {
                "TableName": self.table_name,
                "Key": self._key(model, STATE_SK),
                "UpdateExpression": "SET "
                + ", ".join(s_sets)
                + f" ADD {s.name('state_version')} {s.value(1)}",
                "ConditionExpression": " AND ".join(s_cond),
                **s.kwargs(),
            }
        }

    def _promoted_row_update(
        self,
        model: str,
        version: int,
        actor: str,
        reason: str,
        when: str,
        expected_decision_seq: int | None,
        extra: Mapping[str, Any] | None,
    ) -> dict[str, Any]:
        """The promoted version's row: approved champion, conditioned on a pending or approved row."""
        r = _Expr()
        r_cond = [
            "attribute_exists(pk)",
            f"{r.name('status')} IN ({r.value(PENDING)}, {r.value(APPROVED)})",
        ]
        if expected_decision_seq is not None:
            r_cond.append(r.equals("decision_seq", int(expected_decision_seq)))
        sets = [
            f"{r.name('status')} = {r.value(APPROVED)}",
            f"{r.name('alias')} = {r.value(CHAMPION)}",
            f"{r.name('decided_by')} = {r.value(actor)}",
            f"{r.name('decided_at')} = {r.value(when)}",
            f"{r.name('decision_reason')} = {r.value(reason)}",
            f"{r.name('promoted_at')} = {r.value(when)}",
            *[
                f"{r.name(k)} = {r.value(v)}"
                for k, v in (extra or {}).items()
                if k not in (*_KEY_FIELDS, "status", "alias", "decision_seq", "version", "model")
            ],
        ]
        return {
            "Update": {
                "TableName": self.table_name,
                "Key": self._key(model, version_sk(version)),
                "UpdateExpression": "SET " + ", ".join(sets) + f" ADD {r.name('decision_seq')} {r.value(1)}",
                "ConditionExpression": " AND ".join(r_cond),
                **r.kwargs(),
            }
        }

    def _replaced_row_update(
        self, model: str, old: int, version: int, actor: str, reason: str, when: str, retire: bool
    ) -> dict[str, Any]:
        """The former champion's row: no longer the champion (archived when ``retire``)."""
        o = _Expr()
        o_sets = [
            f"{o.name('alias')} = {o.value(None)}",
            f"{o.name('replaced_by')} = {o.value(version)}",
            f"{o.name('replaced_at')} = {o.value(when)}",
        ]
        tail = ""
        if retire:
            o_sets += [
                f"{o.name('status')} = {o.value(ARCHIVED)}",
                f"{o.name('decided_by')} = {o.value(actor)}",
                f"{o.name('decided_at')} = {o.value(when)}",
                f"{o.name('decision_reason')} = {o.value(reason)}",
            ]
            tail = f" ADD {o.name('decision_seq')} {o.value(1)}"
        return {
            "Update": {
                "TableName": self.table_name,
                "Key": self._key(model, version_sk(old)),
                "UpdateExpression": "SET " + ", ".join(o_sets) + tail,
                "ConditionExpression": f"attribute_exists(pk) AND {o.equals('alias', CHAMPION)}",
                **o.kwargs(),
            }
        }

    # --- conflict messages ------------------------------------------------------------------
    def _explain_version_conflict(self, model: str, version: int, expected: Mapping[str, Any]) -> Exception:
        try:
            row = self.get_version(model, version)
        except NotFound as missing:
            return missing
        found = {k: row.get(k) for k in expected}
        return ConflictError(
            f"{model} v{version} changed since it was read: expected {dict(expected)}, found {found}; "
            "re-read it (steward models show) and decide again"
        )

    def _explain_promotion_conflict(
        self, model: str, version: int, expected_champion: int | None, expected_seq: int | None
    ) -> Exception:
        state = self.get_model_state(model)
        try:
            row = self.get_version(model, version)
        except NotFound as missing:
            return missing
        problems = []
        if state.get("champion") != expected_champion:
            problems.append(
                f"the champion is v{state.get('champion')} now, not "
                f"{'none' if expected_champion is None else f'v{expected_champion}'} (another promotion won)"
            )
        if row.get("status") not in (PENDING, APPROVED):
            problems.append(f"v{version} is {row.get('status')}")
        if expected_seq is not None and row.get("decision_seq") != expected_seq:
            problems.append(
                f"v{version} was decided again since it was read (decision_seq {row.get('decision_seq')}, "
                f"expected {expected_seq})"
            )
        detail = "; ".join(problems) or "a concurrent change"
        return ConflictError(f"promotion of {model} v{version} refused: {detail}")
