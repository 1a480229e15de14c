"""The hostile corpus through the local cloud (the real template on moto).

Every hostile upload ends in one clear outcome: accepted, or quarantined with a readable reason and
one audit record, never retried, the upload kept. Afterwards every artifact the stack wrote (every
object version in every bucket, including the Object Lock audit export; every DynamoDB item; the
function logs; every SNS message and email in the outbox) is searched for the planted values.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest
from hostile import (
    MODEL,
    SPEC_PATH,
    all_dynamodb_items,
    all_s3_objects,
    batch,
    billion_laughs_spec,
    csv_bytes,
    deep_spec,
    files_under,
    gzip_bomb,
    leaks,
    oversized_spec,
    plant,
    planted_values,
    record,
)

from stewardtools.cli.main import main as steward
from stewardtools.localcloud.deploy import LocalCloud

SUITE = "local cloud"
UNDER, ABOVE, ROWS = 5, 60, 2000
PII_CASES = [  # (column, kind, count, expected status)
    ("annual_income", "email", UNDER, "accepted"),
    ("timestamp", "ssn", UNDER, "accepted"),
    ("prediction", "card", UNDER, "accepted"),
    ("prediction", "email", UNDER, "accepted"),
    ("annual_income", "email", ABOVE, "quarantined"),
    ("timestamp", "ssn", ABOVE, "quarantined"),
    ("prediction", "card", ABOVE, "quarantined"),
]
PLANTED: list[str] = []


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Any:
    with LocalCloud(models=[MODEL], state_dir=tmp_path_factory.mktemp("hostile")) as c:
        assert steward(["models", "onboard", str(SPEC_PATH), "--stack", c.stack_name]) == 0
        c.upload(f"reference/{MODEL}/reference.csv", csv_bytes(batch(4000, seed=1, predictions=False)))
        c.wait_idle()
        yield c


def run(cloud: LocalCloud, key: str, body: bytes, function: str = "MonitorBatchFunction") -> Any:
    """Upload, wait, and return the one invocation of ``function`` it caused."""
    before = len(cloud.invocations)
    cloud.upload(key, body)
    cloud.wait_idle()
    (invocation,) = [i for i in cloud.invocations[before:] if i.function == function]
    assert invocation.ok and invocation.attempts == 1, invocation.summary()  # decided, never retried
    return invocation


def outcome(invocation: Any) -> dict[str, Any]:
    results = invocation.result.get("batches") or [invocation.result]
    return dict(results[0])


def reason(cloud: LocalCloud, model: str, batch_id: str) -> dict[str, Any]:
    key = f"quarantine/{model}/{batch_id}/reason.json"
    body = cloud.client("s3").get_object(Bucket=cloud.data_bucket, Key=key)["Body"].read()
    return dict(json.loads(body))


def audit(cloud: LocalCloud) -> list[dict[str, Any]]:
    from stewardtools.operations.context import cli_context

    log = cli_context(cloud.stack_name, actor="test").audit
    assert log is not None
    return list(log.records())


@pytest.mark.parametrize(("column", "kind", "count", "status"), PII_CASES)
def test_planted_personal_data_is_accepted_or_quarantined_once(
    cloud: LocalCloud, column: str, kind: str, count: int, status: str
) -> None:
    values = planted_values(kind, count, seed=len(PLANTED) % 997)
    PLANTED.extend(values)
    name = f"pii-{column}-{kind}-{count}"
    invocation = run(
        cloud, f"inference/{MODEL}/{name}.csv", csv_bytes(plant(batch(ROWS, seed=3), column, values))
    )
    result = outcome(invocation)
    assert result["status"] == status, result
    batch_id = result["batch_id"]
    records = [r for r in audit(cloud) if (r.get("details") or {}).get("batch_id") == batch_id]
    if status == "quarantined":
        why = reason(cloud, MODEL, batch_id)
        assert why["code"] == "pii_found" and column in why["message"]
        assert [r["action"] for r in records if r["action"].startswith("batch.")] == ["batch.quarantined"]
    else:
        assert [r["action"] for r in records if r["action"].startswith("batch.")] == ["batch.accepted"]
    head = cloud.client("s3").head_object(Bucket=cloud.data_bucket, Key=f"inference/{MODEL}/{name}.csv")
    assert head["ContentLength"] > 0  # the upload is kept, as uploaded
    share = f"{count / ROWS:.2%}"
    record(
        SUITE,
        "personal data in typed columns",
        f"{count} {kind}s in {column} ({share})",
        f"{status}, one audit record, not retried, upload kept",
    )


@pytest.mark.parametrize(
    ("model", "body", "words"),
    [
        ("hostile-laughs", billion_laughs_spec, "YAML aliases"),
        ("hostile-deep", lambda: deep_spec(20_000), "nested more than"),
        ("hostile-big", lambda: oversized_spec(2 * 2**20), "larger than"),
    ],
)
def test_a_malicious_spec_in_s3_quarantines_the_batch_with_a_reason(
    cloud: LocalCloud, model: str, body: Any, words: str
) -> None:
    cloud.upload(f"specs/{model}/spec.yaml", body())
    result = outcome(run(cloud, f"inference/{model}/b1.csv", csv_bytes(batch(200, seed=4))))
    assert result["status"] == "quarantined"
    why = reason(cloud, model, result["batch_id"])
    assert why["code"] == "invalid_spec" and words in why["message"], why
    quarantined = [r for r in audit(cloud) if r["action"] == "batch.quarantined" and r.get("model") == model]
    assert len(quarantined) == 1
    # create_baseline loads the spec the same way (it ran 62 s at 6.1 GB on the alias bomb)
    built = run(cloud, f"reference/{model}/ref.csv", csv_bytes(batch(200, seed=4)), "CreateBaselineFunction")
    assert "invalid_spec" in json.dumps(built.result), built.result
    record(
        SUITE,
        "malicious specs",
        f"{model} in specs/",
        "batch quarantined (invalid_spec), one record, not retried",
    )


def test_a_gzip_bomb_under_the_ratio_limit_is_quarantined_before_memory_runs_out(cloud: LocalCloud) -> None:
    """6 MB at ratio ~131 inflates to ~790 MB; monitor_batch's 1769 MB allow 442 MiB of it."""
    result = outcome(run(cloud, f"inference/{MODEL}/bomb.csv.gz", gzip_bomb(6 * 2**20, ratio=131)))
    assert result["status"] == "quarantined"
    why = reason(cloud, MODEL, result["batch_id"])
    assert why["code"] == "decompressed_too_large" and "442.2 MiB" in why["message"], why
    record(
        SUITE,
        "decompression bombs",
        "6 MB gzip at ratio 131 (790 MB), 1,769 MB function",
        "quarantined at 442 MiB, not retried",
    )


def test_invalid_predictions_are_a_quality_verdict(cloud: LocalCloud) -> None:
    frame = batch(ROWS, seed=5)
    frame.loc[frame.index % 2 == 0, "prediction"] = "maybe"
    result = outcome(run(cloud, f"inference/{MODEL}/garbage-predictions.csv", csv_bytes(frame)))
    assert result["status"] == "accepted" and result["verdict"] == "quality", result
    record(SUITE, "invalid predictions", "50% of predictions outside the classes", "verdict quality")


def _markers(cloud: LocalCloud, batch_id: str) -> list[str]:
    s3 = cloud.client("s3")
    bucket = cloud.outputs["ArtifactsBucketName"]
    keys = []
    for page in s3.get_paginator("list_objects_v2").paginate(
        Bucket=bucket, Prefix=f"reports/{MODEL}/_index/"
    ):
        keys += [o["Key"] for o in page.get("Contents", []) if o["Key"].endswith(f"~{batch_id}")]
    return keys


def _indexed_rows(cloud: LocalCloud, batch_id: str) -> list[int]:
    from modelsteward.services.batch_index import BatchIndex
    from stewardtools.operations.context import cli_context

    ctx = cli_context(cloud.stack_name, actor="test")
    entries = BatchIndex(ctx, cloud.outputs["ArtifactsBucketName"], MODEL).entries()
    return [e.rows for e in entries if e.batch_id == batch_id]


def test_a_reuploaded_key_is_one_batch_in_its_latest_version(cloud: LocalCloud) -> None:
    key = f"inference/{MODEL}/again.csv"
    first = outcome(run(cloud, key, csv_bytes(batch(1000, seed=6))))
    second = outcome(run(cloud, key, csv_bytes(batch(1500, seed=7))))
    batch_id = second["batch_id"]
    assert first["batch_id"] == batch_id and second["status"] == "accepted"
    assert len(_markers(cloud, batch_id)) == 1
    assert _indexed_rows(cloud, batch_id) == [1500]
    records = [r for r in audit(cloud) if (r.get("details") or {}).get("batch_id") == batch_id]
    superseded = [r for r in records if r["action"] == "batch.superseded"]
    versions = cloud.client("s3").list_object_versions(Bucket=cloud.data_bucket, Prefix=key)["Versions"]
    (newest,) = [v["VersionId"] for v in versions if v["IsLatest"]]
    (oldest,) = [v["VersionId"] for v in versions if not v["IsLatest"]]
    assert len(superseded) == 1 and superseded[0]["inputs"][0]["version_id"] == oldest
    assert superseded[0]["details"]["superseded_by"] == newest
    record(
        SUITE,
        "duplicate and concurrent deliveries",
        "the same key uploaded twice",
        "one index entry (latest version), one batch.superseded",
    )


def test_concurrent_uploads_of_one_key_converge_to_one_entry(cloud: LocalCloud) -> None:
    key = f"inference/{MODEL}/racing.csv"
    bodies = [csv_bytes(batch(800 + 100 * i, seed=10 + i)) for i in range(5)]
    start = threading.Barrier(5)

    def put(body: bytes) -> None:
        start.wait()
        cloud.client("s3").put_object(Bucket=cloud.data_bucket, Key=key, Body=body)

    threads = [threading.Thread(target=put, args=(b,)) for b in bodies]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    cloud.wait_idle()
    from modelsteward import layout

    batch_id = layout.parse_upload_key(key, url_encoded=False).batch_id
    assert len(_markers(cloud, batch_id)) == 1
    current = cloud.client("s3").head_object(Bucket=cloud.data_bucket, Key=key)
    rows = {len(b.splitlines()) - 1 for b in bodies if len(b) == current["ContentLength"]}
    assert _indexed_rows(cloud, batch_id) == sorted(rows)
    report_key = f"reports/{MODEL}/batches/{batch_id}/report.json"
    body = cloud.client("s3").get_object(Bucket=cloud.outputs["ArtifactsBucketName"], Key=report_key)
    assert json.loads(body["Body"].read())["source"]["version_id"] == current["VersionId"]
    superseded = [
        r
        for r in audit(cloud)
        if r["action"] == "batch.superseded" and (r.get("details") or {}).get("batch_id") == batch_id
    ]
    assert len(superseded) == 4  # each older version, once
    record(
        SUITE,
        "duplicate and concurrent deliveries",
        "5 concurrent uploads of one key",
        "one index entry (the current version), 4 batch.superseded",
    )


def test_no_planted_value_is_anywhere_the_stack_wrote(cloud: LocalCloud) -> None:
    """Runs last in this module: everything above has written what it writes."""
    assert PLANTED, "the PII cases ran first"
    cloud.evaluate_alarms()  # alarm emails and handle_alarm's messages too
    cloud.wait_idle()

    def upload(bucket: str, key: str) -> bool:  # the customer's own uploads are theirs to keep
        return bucket == cloud.data_bucket and key.startswith(f"inference/{MODEL}/pii-")

    haystacks: list[tuple[str, bytes | str]] = [
        *all_s3_objects(cloud.client("s3"), skip=upload),
        *all_dynamodb_items(cloud.client("dynamodb")),
        *files_under(Path(cloud.state_dir)),  # logs/, outbox/ (SNS messages, emails), alarms/
        *((f"outbox:{m.path}", m.path.read_bytes()) for m in cloud.outbox_messages()),
    ]
    audit_bucket = cloud.outputs["AuditBucketName"]
    assert any(where.startswith(f"s3://{audit_bucket}/") for where, _ in haystacks), "the export is walked"
    assert leaks(haystacks, PLANTED) == []
    record(
        SUITE,
        "personal data in typed columns",
        f"walk for {len(PLANTED)} planted values",
        f"none in {len(haystacks)} objects, items, logs and messages",
    )
