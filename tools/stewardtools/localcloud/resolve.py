"""CloudFormation intrinsic functions, resolved against a deployed stack.

moto's CloudFormation ignores some resource types (alarms, SNS subscriptions, bucket
notifications ...); the local cloud creates them through the API and needs their properties
with ``Ref``, ``Fn::GetAtt``, ``Fn::Sub``, ``Fn::If`` ... resolved exactly as CloudFormation
would: parameters (with defaults), pseudo parameters, the stack's physical ids, and the ARNs
and attributes CloudFormation returns for each resource type.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from modelsteward.errors import ConfigError

NO_VALUE = object()  # AWS::NoValue: the property disappears
_SUB_VARIABLE = re.compile(r"\$\{([^}]+)\}")


@dataclass
class StackContext:
    template: Mapping[str, Any]
    parameters: Mapping[str, str]
    physical_ids: Mapping[str, str]
    stack_name: str
    region: str
    account_id: str
    stack_id: str = ""
    extra_names: dict[str, str] = field(default_factory=dict)  # resources moto skipped: logical -> name

    def __post_init__(self) -> None:
        self._conditions: dict[str, bool] = {}

    # -- parameters and conditions
    def parameter(self, name: str) -> Any:
        declared = self.template.get("Parameters", {}).get(name)
        if declared is None:
            raise KeyError(name)
        value: Any = self.parameters.get(name, declared.get("Default"))
        if value is None:
            raise ConfigError(f"parameter {name} has no value and no default")
        kind = str(declared.get("Type", "String"))
        if kind == "CommaDelimitedList" or kind.startswith("List<"):
            return [item.strip() for item in str(value).split(",")] if not isinstance(value, list) else value
        return str(value)

    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            body = self.template.get("Conditions", {}).get(name)
            if body is None:
                raise ConfigError(f"unknown condition {name}")
            self._conditions[name] = bool(self.resolve(body))
        return self._conditions[name]

    def resource_enabled(self, logical_id: str) -> bool:
        resource = self.template.get("Resources", {}).get(logical_id, {})
        condition = resource.get("Condition")
        return True if condition is None else self.condition(condition)

    # -- references
    def ref(self, name: str) -> Any:
        pseudo = {
            "AWS::Region": self.region,
            "AWS::AccountId": self.account_id,
            "AWS::StackName": self.stack_name,
            "AWS::StackId": self.stack_id,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NotificationARNs": [],
            "AWS::NoValue": NO_VALUE,
        }
        if name in pseudo:
            return pseudo[name]
        if name in self.template.get("Parameters", {}):
            return self.parameter(name)
        if self.physical_ids.get(name):
            return self.physical_ids[name]
        if name in self.extra_names:
            return self.extra_names[name]
        raise ConfigError(f"cannot resolve Ref {name}: not a parameter or a created resource")

    def get_att(self, logical_id: str, attribute: str) -> Any:
        resource = self.template.get("Resources", {}).get(logical_id)
        if resource is None:
            raise ConfigError(f"Fn::GetAtt names unknown resource {logical_id}")
        kind = resource.get("Type", "")
        name = self.ref(logical_id)
        r, a = self.region, self.account_id
        arns = {
            "AWS::Lambda::Function": f"arn:aws:lambda:{r}:{a}:function:{name}",
            "AWS::S3::Bucket": f"arn:aws:s3:::{name}",
            "AWS::DynamoDB::Table": f"arn:aws:dynamodb:{r}:{a}:table/{name}",
            "AWS::SNS::Topic": name,
            "AWS::CloudWatch::Alarm": f"arn:aws:cloudwatch:{r}:{a}:alarm:{name}",
            "AWS::CloudWatch::CompositeAlarm": f"arn:aws:cloudwatch:{r}:{a}:alarm:{name}",
            "AWS::KMS::Key": f"arn:aws:kms:{r}:{a}:key/{name}",
            "AWS::IAM::Role": f"arn:aws:iam::{a}:role/{name}",
            "AWS::Events::Rule": f"arn:aws:events:{r}:{a}:rule/{name}",
            "AWS::Logs::LogGroup": f"arn:aws:logs:{r}:{a}:log-group:{name}:*",
        }
        if kind == "AWS::SQS::Queue":
            queue_name = str(name).rstrip("/").rsplit("/", 1)[-1]
            values = {"Arn": f"arn:aws:sqs:{r}:{a}:{queue_name}", "QueueName": queue_name, "QueueUrl": name}
            if attribute in values:
                return values[attribute]
        if attribute == "Arn" and kind in arns:
            return arns[kind]
        if kind == "AWS::SNS::Topic" and attribute in ("TopicArn", "TopicName"):
            return name if attribute == "TopicArn" else str(name).rsplit(":", 1)[-1]
        if kind == "AWS::S3::Bucket" and attribute in ("DomainName", "RegionalDomainName"):
            return f"{name}.s3.amazonaws.com" if attribute == "DomainName" else f"{name}.s3.{r}.amazonaws.com"
        raise ConfigError(f"cannot resolve Fn::GetAtt {logical_id}.{attribute} locally")

    # -- the functions
    def resolve(self, node: Any) -> Any:
        """Resolve every intrinsic in ``node``; properties set to AWS::NoValue are dropped."""
        if isinstance(node, list):
            items = [self.resolve(item) for item in node]
            return [item for item in items if item is not NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            ((key, value),) = node.items()
            handler = _FUNCTIONS.get(key)
            if handler is not None:
                return handler(self, value)
        resolved = {key: self.resolve(value) for key, value in node.items()}
        return {key: value for key, value in resolved.items() if value is not NO_VALUE}

    def sub(self, value: Any) -> str:
        text, variables = (value, {}) if isinstance(value, str) else (value[0], value[1])
        local = {key: self.resolve(item) for key, item in variables.items()}

        def replace(match: re.Match[str]) -> str:
            expression = match.group(1)
            if expression.startswith("!"):
                return "${" + expression[1:] + "}"
            if expression in local:
                return str(local[expression])
            if "." in expression and not expression.startswith("AWS::"):
                logical_id, attribute = expression.split(".", 1)
                return str(self.get_att(logical_id, attribute))
            resolved = self.ref(expression)
            return ",".join(resolved) if isinstance(resolved, list) else str(resolved)

        return _SUB_VARIABLE.sub(replace, text)


def _join(ctx: StackContext, value: Any) -> str:
    delimiter, items = value
    resolved = ctx.resolve(items)
    return str(delimiter).join(str(item) for item in resolved)


def _select(ctx: StackContext, value: Any) -> Any:
    index, items = value
    return ctx.resolve(items)[int(ctx.resolve(index))]


def _split(ctx: StackContext, value: Any) -> list[str]:
    delimiter, text = value
    return str(ctx.resolve(text)).split(delimiter)


def _if(ctx: StackContext, value: Any) -> Any:
    condition, when_true, when_false = value
    return ctx.resolve(when_true if ctx.condition(condition) else when_false)


def _find_in_map(ctx: StackContext, value: Any) -> Any:
    name, first, second = (ctx.resolve(item) for item in value)
    return ctx.template["Mappings"][name][first][second]


def _get_att(ctx: StackContext, value: Any) -> Any:
    logical_id, attribute = value.split(".", 1) if isinstance(value, str) else value
    return ctx.get_att(str(logical_id), str(ctx.resolve(attribute)))


_FUNCTIONS: dict[str, Any] = {
    "Ref": lambda ctx, value: ctx.ref(value),
    "Fn::GetAtt": _get_att,
    "Fn::Sub": lambda ctx, value: ctx.sub(value),
    "Fn::Join": _join,
    "Fn::Select": _select,
    "Fn::Split": _split,
    "Fn::If": _if,
    "Fn::Equals": lambda ctx, value: ctx.resolve(value[0]) == ctx.resolve(value[1]),
    "Fn::Not": lambda ctx, value: not ctx.resolve(value[0]),
    "Fn::And": lambda ctx, value: all(ctx.resolve(item) for item in value),
    "Fn::Or": lambda ctx, value: any(ctx.resolve(item) for item in value),
    "Condition": lambda ctx, value: ctx.condition(value),
    "Fn::FindInMap": _find_in_map,
    "Fn::Base64": lambda ctx, value: base64.b64encode(str(ctx.resolve(value)).encode()).decode(),
    "Fn::ToJsonString": lambda ctx, value: json.dumps(ctx.resolve(value)),
    "Fn::GetAZs": lambda ctx, value: [f"{ctx.resolve(value) or ctx.region}{zone}" for zone in "abc"],
}
