"""SNS deliveries the way AWS makes them, where moto's differ.

moto's SNS -> Lambda event carries placeholder values ("arn:aws:sns:EXAMPLE", 'EXAMPLE' URLs
that Powertools' strict parser rejects, fixed test attributes), and email subscriptions
receive nothing. :func:`install` wraps ``Subscription.publish`` so that, while an
:class:`SnsDelivery` is active:

* ``lambda`` subscriptions to functions the local runtime manages get the real event shape
  (topic ARN, message id, subscription ARN, timestamp, https URLs, the message's attributes) and
  are invoked through moto (hence asynchronously, like AWS);
* ``email`` / ``email-json`` subscriptions write to the :class:`~.outbox.Outbox` (treated as
  confirmed: nobody can click a confirmation link locally).

Filter policies and ``MessageStructure=json`` are honoured as moto honours them. Every other
protocol keeps moto's behaviour.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from stewardtools.localcloud.clock import SimulatedClock
from stewardtools.localcloud.outbox import Outbox

EMAIL_PROTOCOLS = ("email", "email-json")


@dataclass
class SnsDelivery:
    outbox: Outbox
    clock: SimulatedClock
    handles_function: Callable[[str], bool]
    region: str = "us-east-1"

    def lambda_event(
        self,
        subscription: Any,
        message: str,
        message_id: str,
        subject: str | None,
        attributes: dict[str, Any] | None,
    ) -> dict[str, Any]:
        region = subscription.topic.arn.split(":")[3]
        moment = self.clock.now()
        sns: dict[str, Any] = {
            "Type": "Notification",
            "MessageId": message_id,
            "TopicArn": subscription.topic.arn,
            "Subject": subject,
            "Message": message,
            "Timestamp": moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
            "SignatureVersion": "1",
            "Signature": "TG9jYWwgY2xvdWQ=",
            "SigningCertUrl": f"https://sns.{region}.amazonaws.com/SimpleNotificationService-local.pem",
            "UnsubscribeUrl": (
                f"https://sns.{region}.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={subscription.arn}"
            ),
            "MessageAttributes": {
                name: {"Type": value.get("Type", "String"), "Value": str(value.get("Value", ""))}
                for name, value in (attributes or {}).items()
            },
        }
        return {
            "Records": [
                {
                    "EventSource": "aws:sns",
                    "EventVersion": "1.0",
                    "EventSubscriptionArn": subscription.arn,
                    "Sns": sns,
                }
            ]
        }

    def deliver(
        self,
        subscription: Any,
        message: str,
        message_id: str,
        subject: str | None,
        attributes: dict[str, Any] | None,
    ) -> bool:
        """Deliver one message to one subscription; False means "let moto do it"."""
        if subscription.protocol in EMAIL_PROTOCOLS:
            self.outbox.deliver(
                to=subscription.endpoint,
                subject=subject,
                message=message,
                topic_arn=subscription.topic.arn,
                message_id=message_id,
                sent_at=self.clock.now(),
                protocol=subscription.protocol,
                region=subscription.topic.arn.split(":")[3],
                attributes=attributes,
            )
            return True
        if subscription.protocol != "lambda":
            return False
        arn = str(subscription.endpoint)
        name = arn.split(":")[6] if arn.count(":") >= 6 else arn
        if not self.handles_function(name):
            return False
        from moto.awslambda.utils import get_backend

        fn = get_backend(subscription.account_id, arn.split(":")[3]).get_function(arn)
        event = self.lambda_event(subscription, message, message_id, subject, attributes)
        fn.invoke(json.dumps(event), {}, {})
        return True


_ACTIVE: SnsDelivery | None = None
_ORIGINAL: dict[str, Any] = {}


def activate(delivery: SnsDelivery | None) -> None:
    global _ACTIVE
    _ACTIVE = delivery
    if delivery is not None:
        install()


def install() -> None:
    from stewardtools.localcloud import motohooks

    if _ORIGINAL:
        return
    cls = motohooks.sns_subscription_class()
    original = cls.publish
    _ORIGINAL["publish"] = original

    def publish(
        self: Any,
        message: str,
        message_id: str,
        subject: str | None = None,
        message_attributes: dict[str, Any] | None = None,
        group_id: str | None = None,
        deduplication_id: str | None = None,
        message_structure: str | None = None,
    ) -> None:
        delivery = _ACTIVE
        if delivery is None or self.protocol not in (*EMAIL_PROTOCOLS, "lambda"):
            original(
                self,
                message,
                message_id,
                subject,
                message_attributes,
                group_id,
                deduplication_id,
                message_structure,
            )
            return None
        matcher = getattr(self, "_filter_policy_matcher", None)
        if matcher is not None and not matcher.matches(message_attributes, message):
            return None
        text = (
            self._parse_message_structure(message, self.protocol) if message_structure == "json" else message
        )
        if not delivery.deliver(self, text, message_id, subject, message_attributes):
            original(
                self,
                message,
                message_id,
                subject,
                message_attributes,
                group_id,
                deduplication_id,
                message_structure,
            )
            return None
        return None

    cls.publish = publish


def uninstall() -> None:
    from stewardtools.localcloud import motohooks

    global _ACTIVE
    _ACTIVE = None
    if _ORIGINAL:
        motohooks.sns_subscription_class().publish = _ORIGINAL.pop("publish")
