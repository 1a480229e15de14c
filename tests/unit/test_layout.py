from __future__ import annotations

import re

import pytest

from modelsteward.errors import InvalidInput, UnknownPrefix
from modelsteward.events import s3_uploads
from modelsteward.layout import parse_upload_key


def test_url_encoded_key_with_spaces_and_unicode_is_decoded() -> None:
    up = parse_upload_key("inference/credit-default/2026%2F11%2Fbatch+%C3%A9t%C3%A9+1.csv")
    assert (up.prefix, up.model, up.name) == ("inference", "credit-default", "2026/11/batch été 1.csv")
    assert re.fullmatch(r"[A-Za-z0-9._-]+", up.batch_id), "batch ids are S3- and URL-safe"


def test_batch_id_is_stable_and_distinguishes_same_name_in_other_folders() -> None:
    a = parse_upload_key("inference/m/a/data.csv.gz", url_encoded=False)
    b = parse_upload_key("inference/m/b/data.csv.gz", url_encoded=False)
    assert a.batch_id != b.batch_id
    assert a.batch_id == parse_upload_key("inference/m/a/data.csv.gz", url_encoded=False).batch_id
    assert a.batch_id.startswith("data-")


def test_unknown_prefix_is_named() -> None:
    with pytest.raises(UnknownPrefix, match="prefix 'uploads/' triggers nothing"):
        parse_upload_key("uploads/m/x.csv")


@pytest.mark.parametrize("key", ["inference/x.csv", "inference/m/", "inference/Bad_Model/x.csv"])
def test_malformed_keys_are_invalid_input(key: str) -> None:
    with pytest.raises(InvalidInput):
        parse_upload_key(key)


def test_s3_event_records_are_decoded_and_test_events_skipped() -> None:
    event = {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "eventName": "ObjectCreated:Put",
                "s3": {
                    "bucket": {"name": "data", "arn": "arn:aws:s3:::data"},
                    "object": {"key": "inference/m/a+b.csv", "size": 10, "eTag": "e", "versionId": "v1"},
                },
            },
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "eventName": "ObjectRemoved:Delete",
                "s3": {"bucket": {"name": "data"}, "object": {"key": "inference/m/gone.csv"}},
            },
        ]
    }
    ups = s3_uploads(event)
    assert [(u.key, u.version_id, u.size) for u in ups] == [("inference/m/a b.csv", "v1", 10)]
    assert s3_uploads({"Event": "s3:TestEvent"}) == []
    with pytest.raises(InvalidInput):
        s3_uploads({"detail": {}})
