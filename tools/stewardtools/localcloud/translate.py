"""Offline SAM -> plain CloudFormation, the way AWS would do it, without credentials or network.

Why: moto's CloudFormation creates nothing from a raw SAM template, and cfn-lint >= 1.54 no
longer runs the SAM transform (a bad ``!Ref`` in a function's Environment slips through). So the
local cloud and the infrastructure tests both run the template through the same three steps:

1. :func:`load_template` - YAML with CloudFormation short tags (``!Ref``, ``!Sub`` ...) turned
   into their long JSON forms (``{"Ref": ...}``, ``{"Fn::Sub": ...}``).
2. :func:`expand_language_extensions` - the ``AWS::LanguageExtensions`` transform's
   ``Fn::ForEach::<Name>`` loops unrolled (moto and samtranslator know nothing of them).
3. :func:`translate` - aws-sam-translator's transform, offline: the region comes from
   ``AWS_DEFAULT_REGION`` set for the call, ``CodeUri``/``ContentUri`` become
   ``s3://<code_bucket>/<original path>``, managed policy names resolve from a fixed table.

The original local code path of every function and layer survives translation in the
resource's ``Metadata`` under :data:`CODE_URI_METADATA` (e.g. ``"functions/monitor_batch"``,
relative to the template's folder); :func:`code_uri_of` reads it back.
"""

from __future__ import annotations

import copy
import os
import re
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from modelsteward.errors import ConfigError

CODE_URI_METADATA = "StewardCodeUri"
LOCAL_CODE_BUCKET = "steward-local-code"
LANGUAGE_EXTENSIONS = "AWS::LanguageExtensions"
SERVERLESS_TRANSFORM = "AWS::Serverless-2016-10-31"

_FOREACH_PREFIX = "Fn::ForEach::"
_ENV_LOCK = threading.Lock()


# --- 1. YAML with CloudFormation short tags ------------------------------------------------
class CloudFormationLoader(yaml.SafeLoader):
    """SafeLoader that knows the CloudFormation short tags and keeps dates as strings.

    ``AWSTemplateFormatVersion: 2010-09-09`` must stay a string (CloudFormation's own parser
    has no timestamp type), so the timestamp implicit resolver is removed.
    """


CloudFormationLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}

# short tag -> long name; "Ref" and "Condition" are not "Fn::" functions
_FUNCTION_TAGS = (
    "Sub",
    "If",
    "Equals",
    "Not",
    "And",
    "Or",
    "Select",
    "Split",
    "Join",
    "FindInMap",
    "ImportValue",
    "Base64",
    "GetAZs",
    "Cidr",
    "Length",
    "ToJsonString",
    "Transform",
)


def _construct_node(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    raise yaml.constructor.ConstructorError(None, None, f"unexpected node {node!r}", node.start_mark)


def _function_constructor(long_name: str) -> Any:
    def construct(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
        return {long_name: _construct_node(loader, node)}

    return construct


def _construct_getatt(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
    value = _construct_node(loader, node)
    if isinstance(value, str):
        resource, _, attribute = value.partition(".")
        if not attribute:
            raise yaml.constructor.ConstructorError(
                None, None, f"!GetAtt needs 'Resource.Attribute', got {value!r}", node.start_mark
            )
        return {"Fn::GetAtt": [resource, attribute]}
    return {"Fn::GetAtt": value}


for _tag in _FUNCTION_TAGS:
    CloudFormationLoader.add_constructor(f"!{_tag}", _function_constructor(f"Fn::{_tag}"))
CloudFormationLoader.add_constructor("!Ref", _function_constructor("Ref"))
CloudFormationLoader.add_constructor("!Condition", _function_constructor("Condition"))
CloudFormationLoader.add_constructor("!GetAtt", _construct_getatt)


def loads_template(text: str) -> dict[str, Any]:
    """Parse a YAML or JSON CloudFormation/SAM template held in a string."""
    data = yaml.load(text, Loader=CloudFormationLoader)  # noqa: S506  # nosec B506 - SafeLoader subclass
    if not isinstance(data, dict):
        raise ConfigError("a template must be a mapping at the top level")
    return data


def load_template(path: Path) -> dict[str, Any]:
    """Read a YAML or JSON template file, short tags expanded to long form."""
    return loads_template(Path(path).read_text(encoding="utf-8"))


# --- 2. AWS::LanguageExtensions: Fn::ForEach ------------------------------------------------
def _transforms(template: Mapping[str, Any]) -> list[str]:
    declared = template.get("Transform")
    if declared is None:
        return []
    return [declared] if isinstance(declared, str) else list(declared)


def _alphanumeric(value: str) -> str:
    return re.sub(r"[^A-Za-z0-9]", "", value)


def _substitute(node: Any, identifier: str, value: str) -> Any:
    """Replace ``${Identifier}``, ``&{Identifier}`` and ``{"Ref": Identifier}`` by the loop value."""
    if isinstance(node, str):
        return node.replace(f"${{{identifier}}}", value).replace(f"&{{{identifier}}}", _alphanumeric(value))
    if isinstance(node, list):
        return [_substitute(item, identifier, value) for item in node]
    if isinstance(node, dict):
        if node == {"Ref": identifier}:
            return value
        return {
            _substitute(key, identifier, value): _substitute(item, identifier, value)
            for key, item in node.items()
        }
    return node


def _parameter_list(name: str, template: Mapping[str, Any], parameters: Mapping[str, str]) -> list[str]:
    declared = template.get("Parameters", {}).get(name)
    if declared is None:
        raise ConfigError(f"Fn::ForEach collection refers to unknown parameter {name!r}")
    kind = str(declared.get("Type", "String"))
    if kind != "CommaDelimitedList" and not kind.startswith("List<"):
        raise ConfigError(f"Fn::ForEach collection parameter {name!r} must be a list type, not {kind}")
    raw: Any = parameters.get(name, declared.get("Default"))
    if raw is None:
        raise ConfigError(f"parameter {name!r} has no value and no default")
    items = raw if isinstance(raw, list) else str(raw).split(",")
    return [str(item).strip() for item in items if str(item).strip()]


def _collection(
    collection: Any, loop: str, template: Mapping[str, Any], parameters: Mapping[str, str]
) -> list[str]:
    if isinstance(collection, list):
        if not all(isinstance(item, str | int | float) for item in collection):
            raise ConfigError(f"{loop}: a literal collection may hold only strings")
        return [str(item) for item in collection]
    if isinstance(collection, dict) and set(collection) == {"Ref"}:
        return _parameter_list(str(collection["Ref"]), template, parameters)
    raise ConfigError(f"{loop}: collection must be a list or !Ref of a list parameter, got {collection!r}")


def _expand(node: Any, template: Mapping[str, Any], parameters: Mapping[str, str]) -> Any:
    if isinstance(node, list):
        return [_expand(item, template, parameters) for item in node]
    if not isinstance(node, dict):
        return node
    expanded: dict[str, Any] = {}

    def put(key: str, value: Any, origin: str) -> None:
        if key in expanded:
            raise ConfigError(f"{origin} produces duplicate key {key!r}")
        expanded[key] = value

    for key, value in node.items():
        if not (isinstance(key, str) and key.startswith(_FOREACH_PREFIX)):
            put(key, _expand(value, template, parameters), key)
            continue
        if not (isinstance(value, list) and len(value) == 3 and isinstance(value[0], str)):
            raise ConfigError(f"{key} must be [Identifier, Collection, {{OutputKey: OutputValue}}]")
        identifier, collection, fragment = value
        if not isinstance(fragment, dict):
            raise ConfigError(f"{key}: the third element must be a mapping")
        for item in _collection(collection, key, template, parameters):
            unrolled = _expand(_substitute(fragment, identifier, item), template, parameters)
            for out_key, out_value in unrolled.items():
                put(out_key, out_value, key)
    return expanded


def expand_language_extensions(template: Mapping[str, Any], parameters: Mapping[str, str]) -> dict[str, Any]:
    """Unroll every ``Fn::ForEach::<Name>`` loop and drop ``AWS::LanguageExtensions``.

    Collections are literal lists or ``!Ref`` of a ``CommaDelimitedList`` parameter, whose value
    comes from ``parameters`` or else the parameter's Default. Loops may nest, and may appear
    wherever CloudFormation allows them (Resources, Outputs, Conditions, resource properties).
    Returns a new template; the input is not modified.
    """
    result: dict[str, Any] = {}
    for section, body in template.items():
        if section in ("Parameters", "Transform"):
            result[section] = copy.deepcopy(body)
        else:
            result[section] = _expand(copy.deepcopy(body), template, parameters)
    remaining = [name for name in _transforms(template) if name != LANGUAGE_EXTENSIONS]
    if "Transform" in result:
        if not remaining:
            del result["Transform"]
        else:
            result["Transform"] = remaining[0] if len(remaining) == 1 else remaining
    return result


# --- 3. aws-sam-translator, offline ---------------------------------------------------------
class OfflineManagedPolicyLoader:
    """Stands in for samtranslator's IAM-backed loader: a fixed table of AWS managed policies.

    samtranslator asks only for names that are neither policy templates nor ARNs; the template
    uses none of those, so this table is a courtesy for hand-written templates.
    """

    NAMES = (
        "service-role/AWSLambdaBasicExecutionRole",
        "service-role/AWSLambdaRole",
        "service-role/AWSLambdaSQSQueueExecutionRole",
        "AWSXrayWriteOnlyAccess",
        "AWSXRayDaemonWriteAccess",
        "CloudWatchLambdaInsightsExecutionRolePolicy",
        "AmazonS3ReadOnlyAccess",
        "AmazonDynamoDBReadOnlyAccess",
    )

    def __init__(self, partition: str = "aws") -> None:
        self._map = {
            name.rsplit("/", 1)[-1]: f"arn:{partition}:iam::aws:policy/{name}" for name in self.NAMES
        }

    def load(self) -> dict[str, str]:
        return dict(self._map)


@contextmanager
def _region_environment(region: str) -> Iterator[None]:
    """samtranslator reads the region from a fresh boto3 session: set it in the environment."""
    with _ENV_LOCK:
        saved = os.environ.get("AWS_DEFAULT_REGION")
        os.environ["AWS_DEFAULT_REGION"] = region
        try:
            yield
        finally:
            if saved is None:
                os.environ.pop("AWS_DEFAULT_REGION", None)
            else:
                os.environ["AWS_DEFAULT_REGION"] = saved


def _local_path(uri: Any) -> str | None:
    if isinstance(uri, str) and uri and "://" not in uri:
        return Path(uri).as_posix().rstrip("/") or "."
    return None


_CODE_PROPERTIES = {
    "AWS::Serverless::Function": "CodeUri",
    "AWS::Serverless::LayerVersion": "ContentUri",
}


def _rewrite_code_uris(template: dict[str, Any], code_bucket: str) -> None:
    """Local paths become ``s3://<code_bucket>/<path>``; the key keeps the path discoverable."""
    for resource in template.get("Resources", {}).values():
        prop = _CODE_PROPERTIES.get(resource.get("Type", "")) if isinstance(resource, dict) else None
        if prop is None:
            continue
        properties = resource.setdefault("Properties", {})
        path = _local_path(properties.get(prop))
        if path is not None:
            properties[prop] = f"s3://{code_bucket}/{path}"
    globals_function = template.get("Globals", {}).get("Function", {})
    path = _local_path(globals_function.get("CodeUri"))
    if path is not None:
        globals_function["CodeUri"] = f"s3://{code_bucket}/{path}"


def _record_code_uris(template: dict[str, Any], code_bucket: str) -> None:
    for resource in template.get("Resources", {}).values():
        kind = resource.get("Type")
        properties = resource.get("Properties", {})
        if kind == "AWS::Lambda::Function":
            location = properties.get("Code", {})
        elif kind == "AWS::Lambda::LayerVersion":
            location = properties.get("Content", {})
        else:
            continue
        if location.get("S3Bucket") == code_bucket and isinstance(location.get("S3Key"), str):
            resource.setdefault("Metadata", {})[CODE_URI_METADATA] = location["S3Key"]


def _sam_error(exc: Exception) -> ConfigError:
    causes = getattr(exc, "causes", None) or []
    details = "; ".join(str(getattr(cause, "message", cause)) for cause in causes)
    return ConfigError(f"SAM transform failed: {getattr(exc, 'message', exc)} {details}".strip())


def translate(
    template: Mapping[str, Any],
    *,
    region: str = "us-east-1",
    parameters: Mapping[str, str] | None = None,
    code_bucket: str = LOCAL_CODE_BUCKET,
) -> dict[str, Any]:
    """Turn a SAM template (long-form dict) into plain CloudFormation, offline.

    ``parameters`` are the stack parameter values (defaults fill the rest); they drive the
    ``Fn::ForEach`` collections and samtranslator's few parameter-dependent decisions. The
    result still refers to parameters with ``Ref``; pass the same values to CreateStack.
    Every ``AWS::Lambda::Function`` / ``AWS::Lambda::LayerVersion`` built from a local path
    carries ``Metadata.StewardCodeUri`` (that path). Raises ConfigError on SAM errors.
    """
    from samtranslator.model.exceptions import InvalidDocumentException, InvalidTemplateException
    from samtranslator.translator.transform import transform

    values = {key: str(value) for key, value in (parameters or {}).items()}
    sam = expand_language_extensions(template, values)
    _rewrite_code_uris(sam, code_bucket)
    sam_values: dict[str, Any] = dict(values)
    with _region_environment(region):
        try:
            translated = transform(sam, sam_values, OfflineManagedPolicyLoader())  # type: ignore[arg-type]
        except (InvalidDocumentException, InvalidTemplateException) as exc:
            raise _sam_error(exc) from exc
    translated.pop("Transform", None)
    _record_code_uris(translated, code_bucket)
    result: dict[str, Any] = translated
    return result


def translate_file(path: Path, **kwargs: Any) -> dict[str, Any]:
    """:func:`load_template` then :func:`translate`; keyword arguments go to :func:`translate`."""
    return translate(load_template(path), **kwargs)


def code_uri_of(resource: Mapping[str, Any]) -> str | None:
    """The local code path a translated function/layer was built from, relative to the template."""
    value = resource.get("Metadata", {}).get(CODE_URI_METADATA)
    return value if isinstance(value, str) else None
