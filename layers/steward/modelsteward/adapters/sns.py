"""Notifier on SNS (email subscribers read ``subject`` and ``message``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from .aws import client, translate


class SnsNotifier:
    def __init__(
        self, topic_arn: str, sns: Any | None = None, *, render: Callable[[str], str] | None = None
    ) -> None:
        self.topic_arn = topic_arn
        self._sns = sns
        self._render = render  # e.g. links.render_links: s3:// URIs -> console links

    def publish(self, subject: str, message: str, attributes: Mapping[str, str] | None = None) -> str:
        sns = self._sns or client("sns")
        if self._render is not None:
            message = self._render(message)
        attrs = {k: {"DataType": "String", "StringValue": v} for k, v in (attributes or {}).items()}
        try:
            resp = sns.publish(
                TopicArn=self.topic_arn, Subject=subject[:100], Message=message, MessageAttributes=attrs
            )
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc, f"publish to {self.topic_arn}") from exc
        return str(resp["MessageId"])
