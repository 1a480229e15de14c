"""localcloud.translate: short tags, Fn::ForEach expansion and the offline SAM transform."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from modelsteward.errors import ConfigError
from stewardtools.localcloud.translate import (
    CODE_URI_METADATA,
    code_uri_of,
    expand_language_extensions,
    load_template,
    loads_template,
    translate,
)

SHORT_TAGS = """
AWSTemplateFormatVersion: 2010-09-09
Conditions:
  IsProd: !Equals [!Ref Stage, prod]
  NotProd: !Not [!Condition IsProd]
  Both: !And [!Condition IsProd, !Or [!Condition NotProd, !Condition IsProd]]
Resources:
  Thing:
    Type: AWS::SNS::Topic
    Properties:
      A: !Ref Stage
      B: !Sub "${AWS::StackName}-x"
      C: !GetAtt Bucket.Arn
      D: !GetAtt [Bucket, DomainName]
      E: !If [IsProd, 1, !Ref AWS::NoValue]
      F: !Select [0, !Split [",", "a,b"]]
      G: !Join ["-", [a, b]]
      H: !FindInMap [Map, Key, Value]
      I: !ImportValue Shared
      J: !Base64 text
      K: !GetAZs ""
      L: !Cidr ["10.0.0.0/16", 2, 8]
      M: !Sub ["${X}", {X: !Ref Stage}]
"""


def test_short_tags_become_long_forms() -> None:
    template = loads_template(SHORT_TAGS)
    props = template["Resources"]["Thing"]["Properties"]
    assert template["AWSTemplateFormatVersion"] == "2010-09-09"  # a string, not a date
    assert props["A"] == {"Ref": "Stage"}
    assert props["B"] == {"Fn::Sub": "${AWS::StackName}-x"}
    assert props["C"] == {"Fn::GetAtt": ["Bucket", "Arn"]}
    assert props["D"] == {"Fn::GetAtt": ["Bucket", "DomainName"]}
    assert props["E"] == {"Fn::If": ["IsProd", 1, {"Ref": "AWS::NoValue"}]}
    assert props["F"] == {"Fn::Select": [0, {"Fn::Split": [",", "a,b"]}]}
    assert props["G"] == {"Fn::Join": ["-", ["a", "b"]]}
    assert props["H"] == {"Fn::FindInMap": ["Map", "Key", "Value"]}
    assert props["I"] == {"Fn::ImportValue": "Shared"}
    assert props["J"] == {"Fn::Base64": "text"}
    assert props["K"] == {"Fn::GetAZs": ""}
    assert props["L"] == {"Fn::Cidr": ["10.0.0.0/16", 2, 8]}
    assert props["M"] == {"Fn::Sub": ["${X}", {"X": {"Ref": "Stage"}}]}
    conditions = template["Conditions"]
    assert conditions["IsProd"] == {"Fn::Equals": [{"Ref": "Stage"}, "prod"]}
    assert conditions["NotProd"] == {"Fn::Not": [{"Condition": "IsProd"}]}
    assert conditions["Both"]["Fn::And"][1] == {"Fn::Or": [{"Condition": "NotProd"}, {"Condition": "IsProd"}]}


def test_getatt_without_attribute_is_refused() -> None:
    with pytest.raises(Exception, match=r"Resource\.Attribute"):
        loads_template("Resources: {X: {Type: T, Properties: {A: !GetAtt Bucket}}}")


def test_load_template_reads_json_too(tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    path.write_text('{"Resources": {"T": {"Type": "AWS::SNS::Topic"}}}')
    assert load_template(path) == {"Resources": {"T": {"Type": "AWS::SNS::Topic"}}}


def _loop_template(collection: object) -> dict[str, Any]:
    return {
        "Transform": ["AWS::LanguageExtensions", "AWS::Serverless-2016-10-31"],
        "Parameters": {
            "Models": {"Type": "CommaDelimitedList", "Default": "credit-default, churn"},
            "Stage": {"Type": "String", "Default": "dev"},
        },
        "Resources": {
            "Static": {"Type": "AWS::SNS::Topic"},
            "Fn::ForEach::Alarms": [
                "Model",
                collection,
                {
                    "Alarm&{Model}": {
                        "Type": "AWS::CloudWatch::Alarm",
                        "Properties": {
                            "AlarmName": {"Fn::Sub": "model-steward-${Stage}-${Model}-drift"},
                            "Plain": "${Model}",
                            "Dimensions": [{"Name": "model", "Value": {"Ref": "Model"}}],
                            "Other": {"Ref": "Stage"},
                            "Rule": {"Fn::Sub": 'ALARM("${Child&{Model}.Arn}")'},
                        },
                    }
                },
            ],
        },
    }


def test_foreach_over_parameter_default() -> None:
    out = expand_language_extensions(_loop_template({"Ref": "Models"}), {})
    resources = out["Resources"]
    assert set(resources) == {"Static", "Alarmcreditdefault", "Alarmchurn"}
    props = resources["Alarmcreditdefault"]["Properties"]
    assert props["AlarmName"] == {"Fn::Sub": "model-steward-${Stage}-credit-default-drift"}
    assert props["Plain"] == "credit-default"
    assert props["Dimensions"] == [{"Name": "model", "Value": "credit-default"}]
    assert props["Other"] == {"Ref": "Stage"}  # other refs untouched
    assert props["Rule"] == {"Fn::Sub": 'ALARM("${Childcreditdefault.Arn}")'}
    assert out["Transform"] == "AWS::Serverless-2016-10-31"


def test_foreach_parameter_value_overrides_default() -> None:
    out = expand_language_extensions(_loop_template({"Ref": "Models"}), {"Models": "a-1,b.2 , c"})
    assert set(out["Resources"]) == {"Static", "Alarma1", "Alarmb2", "Alarmc"}
    assert out["Resources"]["Alarmb2"]["Properties"]["Plain"] == "b.2"


def test_foreach_over_literal_list_and_input_left_alone() -> None:
    template = _loop_template(["x", "y"])
    before = repr(template)
    out = expand_language_extensions(template, {})
    assert set(out["Resources"]) == {"Static", "Alarmx", "Alarmy"}
    assert repr(template) == before


def test_nested_foreach_and_outputs() -> None:
    template = {
        "Transform": "AWS::LanguageExtensions",
        "Resources": {"T": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {
            "Fn::ForEach::Outer": [
                "A",
                ["one", "two"],
                {
                    "Fn::ForEach::Inner": [
                        "B",
                        ["x", "y"],
                        {"Out${A}${B}": {"Value": {"Fn::Sub": "${A}-${B}"}}},
                    ]
                },
            ]
        },
    }
    out = expand_language_extensions(template, {})
    assert out["Outputs"] == {
        "Outonex": {"Value": {"Fn::Sub": "one-x"}},
        "Outoney": {"Value": {"Fn::Sub": "one-y"}},
        "Outtwox": {"Value": {"Fn::Sub": "two-x"}},
        "Outtwoy": {"Value": {"Fn::Sub": "two-y"}},
    }
    assert "Transform" not in out


def test_foreach_duplicate_keys_are_an_error() -> None:
    template = _loop_template(["a-b", "ab"])  # both become logical id "Alarmab"
    with pytest.raises(ConfigError, match="duplicate key 'Alarmab'"):
        expand_language_extensions(template, {})


@pytest.mark.parametrize(
    ("collection", "message"),
    [
        ({"Ref": "Stage"}, "must be a list type"),
        ({"Ref": "Nope"}, "unknown parameter 'Nope'"),
        ({"Fn::Split": [",", "a,b"]}, "collection must be a list"),
    ],
)
def test_foreach_bad_collections(collection: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        expand_language_extensions(_loop_template(collection), {})


def test_foreach_malformed_loop() -> None:
    template = {"Resources": {"Fn::ForEach::Bad": ["Only", "two"]}}
    with pytest.raises(ConfigError, match="must be \\[Identifier"):
        expand_language_extensions(template, {})


MINIMAL_SAM = """
Transform: [AWS::LanguageExtensions, AWS::Serverless-2016-10-31]
Parameters:
  Models: {Type: CommaDelimitedList, Default: "m-1"}
Globals:
  Function:
    Runtime: python3.12
    Handler: app.handler
Resources:
  Lib:
    Type: AWS::Serverless::LayerVersion
    Properties: {ContentUri: layers/steward/, CompatibleRuntimes: [python3.12]}
  Worker:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/monitor_batch/
      Layers: [!Ref Lib]
  Fn::ForEach::Topics:
    - M
    - !Ref Models
    - Topic&{M}:
        Type: AWS::SNS::Topic
        Properties: {TopicName: !Sub "${M}-topic"}
"""


def test_translate_produces_plain_cloudformation_with_code_paths() -> None:
    region_before = os.environ.get("AWS_DEFAULT_REGION")
    out = translate(loads_template(MINIMAL_SAM), region="eu-west-1", parameters={"Models": "a,b"})
    assert os.environ.get("AWS_DEFAULT_REGION") == region_before  # restored after the call
    assert "Transform" not in out
    types = {r["Type"] for r in out["Resources"].values()}
    assert not any(t.startswith("AWS::Serverless::") for t in types)
    worker = out["Resources"]["Worker"]
    assert worker["Type"] == "AWS::Lambda::Function"
    assert worker["Metadata"][CODE_URI_METADATA] == "functions/monitor_batch"
    assert code_uri_of(worker) == "functions/monitor_batch"
    layers = [r for r in out["Resources"].values() if r["Type"] == "AWS::Lambda::LayerVersion"]
    assert [code_uri_of(layer) for layer in layers] == ["layers/steward"]
    assert {"Topica", "Topicb"} <= set(out["Resources"])


def test_translate_reports_sam_errors_as_config_error() -> None:
    bad = loads_template(
        """
Transform: AWS::Serverless-2016-10-31
Resources:
  Worker:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/x/
      Handler: app.handler
      Runtime: python3.12
      Events:
        Upload: {Type: S3, Properties: {Bucket: not-a-ref, Events: "s3:ObjectCreated:*"}}
"""
    )
    with pytest.raises(ConfigError, match="SAM transform failed"):
        translate(bad)
