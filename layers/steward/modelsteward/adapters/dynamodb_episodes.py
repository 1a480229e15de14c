"""The alert episode books on DynamoDB: one item per model, replaced under a version condition.

Item (table key pk/sk): ``pk=MODEL#<name> sk=EPISODES  book (map), doc_version (number)``.
A writer passes the ``doc_version`` it read; a concurrent batch that wrote first makes the put fail
with ConflictError, and the caller re-reads and folds its observation in again. So two batches
never both open an episode, and none is lost.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from .aws import client, translate
from .dynamodb_registry import _item, _ser, model_pk

EPISODES_SK = "EPISODES"


class DynamoEpisodeStore:
    def __init__(self, table_name: str, dynamodb_client: Any | None = None) -> None:
        self.table_name = table_name
        self._client = dynamodb_client

    @property
    def ddb(self) -> Any:
        if self._client is None:
            self._client = client("dynamodb")
        return self._client

    def _key(self, model: str) -> dict[str, Any]:
        return {"pk": {"S": model_pk(model)}, "sk": {"S": EPISODES_SK}}

    def get(self, model: str) -> dict[str, Any]:
        """The model's book with its ``doc_version`` (``{}`` when none was written yet)."""
        try:
            resp = self.ddb.get_item(TableName=self.table_name, Key=self._key(model), ConsistentRead=True)
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc, f"read the alert episodes of {model}") from exc
        item = _item(resp.get("Item", {}))
        if not item:
            return {}
        return {**dict(item.get("book") or {}), "doc_version": int(item.get("doc_version") or 0)}

    def put(self, model: str, book: Mapping[str, Any], *, expected_version: int) -> None:
        """Replace the book if it is still at ``expected_version`` (ConflictError otherwise)."""
        body = {k: v for k, v in book.items() if k != "doc_version"}
        kwargs: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(doc_version)"}
        if expected_version:
            kwargs = {
                "ConditionExpression": "doc_version = :expected",
                "ExpressionAttributeValues": {":expected": _ser(expected_version)},
            }
        try:
            self.ddb.put_item(
                TableName=self.table_name,
                Item={**self._key(model), "book": _ser(body), "doc_version": _ser(expected_version + 1)},
                **kwargs,
            )
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc, f"write the alert episodes of {model}") from exc
