"""Where everything lives in S3: the one place that spells keys (docs/s3-layout.md mirrors it).

Data bucket (versioned, user-facing; uploads are never modified or deleted by the suite):
    specs/<model>/spec.yaml                      model spec (``steward models onboard``)
    training/<model>/<file>                      -> train_model
    reference/<model>/<file>                     -> create_baseline (bring your own model)
    scoring/<model>/<file>                       -> score_batch
    inference/<model>/<file>                     -> monitor_batch
    labels/<model>/<file>                        -> evaluate_labels
    quarantine/<model>/<batch_id>/reason.json    why a batch was refused (+ reason.txt)
    pool/<model>/<batch_id>.parquet              labeled rows for retraining (PII policy applied)

Artifacts bucket (versioned, written only by the suite):
    models/<model>/v<NNNN>/model.skops | evaluation.json | holdout.parquet | estimation.json
                                       | estimation_sample.parquet
    models/<model>/v<NNNN>/baseline/baseline.json | statistics.json | constraints.json
    models/<model>/v<NNNN>/card/card.json | card.md | card.html
    reports/<model>/batches/<batch_id>/report.json | report.html | profile.json
                                       | constraint_violations.json
    reports/<model>/windows/<window>/<start>/report.json | report.html
    reports/<model>/_index/<day>/<entry>        empty marker per accepted batch (services.batch_index)
    predictions/<model>/<batch_id>.parquet      scored rows (id, prediction, variant, version)
    predictions/<model>/_index/<day>/<batch_id> empty marker: the day a batch was scored
    predictions/<model>/_events/<day>/<batch_id> empty marker: a day of event time the batch covers
    quality/<model>/<batch_id>/quality.json     realized metrics from labels (+ unmatched.parquet,
                                                invalid.parquet, pool_lineage.json)
    quality/<model>/<batch_id>/estimated.json   label-free estimate of a scored or monitored batch
    quality/<model>/<batch_id>/realized.json    realized metrics of one inference batch (+ labels/)
    models/<model>/reference/estimation.json    estimator fitted on a labeled reference (BYOM)
                                                (+ estimation_sample.parquet)
    governance/<run_id>/report.json | report.html

Audit bucket (versioned, Object Lock; written only by the audit log):
    audit/<chain>/<seq:012d>.json               locked copy of each audit record
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from urllib.parse import unquote_plus

from .errors import InvalidInput, UnknownPrefix

TRIGGER_PREFIXES = ("training", "reference", "scoring", "inference", "labels")
_MODEL = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


@dataclass(frozen=True)
class UploadKey:
    """A user upload under a trigger prefix: ``<prefix>/<model>/<name...>``."""

    prefix: str
    model: str
    name: str
    key: str

    @property
    def batch_id(self) -> str:
        """Stable, S3-safe id derived from the file name (plus a short hash so names never collide)."""
        stem = re.sub(r"[^A-Za-z0-9._-]+", "_", self.name.rsplit("/", 1)[-1])
        for ext in (".gz", ".csv", ".jsonl", ".ndjson", ".json", ".parquet", ".pq"):
            stem = stem.removesuffix(ext)
        digest = hashlib.sha256(self.key.encode()).hexdigest()[:8]
        return f"{stem[:80] or 'batch'}-{digest}"


def parse_upload_key(raw_key: str, *, url_encoded: bool = True) -> UploadKey:
    """Decode an S3 event key (URL-encoded, '+' for spaces) and split it into prefix/model/name."""
    key = unquote_plus(raw_key) if url_encoded else raw_key
    parts = key.split("/", 2)
    if len(parts) < 3 or not parts[2]:
        raise InvalidInput(f"key '{key}' is not of the form <prefix>/<model>/<file>", code="bad_key")
    prefix, model, name = parts
    if prefix not in TRIGGER_PREFIXES:
        raise UnknownPrefix(f"prefix '{prefix}/' triggers nothing; use one of {', '.join(TRIGGER_PREFIXES)}")
    if not _MODEL.fullmatch(model):
        raise InvalidInput(
            f"model name '{model}' in key '{key}' is invalid: use lowercase letters, digits and '-'",
            code="bad_model_name",
        )
    return UploadKey(prefix=prefix, model=model, name=name, key=key)


def spec_key(model: str) -> str:
    return f"specs/{model}/spec.yaml"


def quarantine_prefix(model: str, batch_id: str) -> str:
    return f"quarantine/{model}/{batch_id}/"


def pool_key(model: str, batch_id: str) -> str:
    return f"pool/{model}/{batch_id}.parquet"


def version_prefix(model: str, version: int) -> str:
    return f"models/{model}/v{version:04d}/"


def model_artifact_key(model: str, version: int) -> str:
    return version_prefix(model, version) + "model.skops"


def baseline_prefix(model: str, version: int) -> str:
    return version_prefix(model, version) + "baseline/"


def card_prefix(model: str, version: int) -> str:
    return version_prefix(model, version) + "card/"


def batch_report_prefix(model: str, batch_id: str) -> str:
    return f"reports/{model}/batches/{batch_id}/"


def window_report_prefix(model: str, window: str, start: str) -> str:
    return f"reports/{model}/windows/{window}/{start}/"


def predictions_key(model: str, batch_id: str) -> str:
    return f"predictions/{model}/{batch_id}.parquet"


def quality_prefix(model: str, batch_id: str) -> str:
    return f"quality/{model}/{batch_id}/"


def governance_prefix(run_id: str) -> str:
    return f"governance/{run_id}/"


def s3_uri(bucket: str, key: str) -> str:
    return f"s3://{bucket}/{key}"


def audit_export_prefix(chain: str) -> str:
    return f"audit/{chain}/"


def audit_export_key(chain: str, seq: int) -> str:
    return f"{audit_export_prefix(chain)}{seq:012d}.json"


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/key`` -> (bucket, key); InvalidInput names a malformed URI."""
    if not uri.startswith("s3://") or "/" not in uri[5:] or uri[5:].startswith("/"):
        raise InvalidInput(f"'{uri}' is not an s3://bucket/key URI", code="bad_uri")
    bucket, key = uri[5:].split("/", 1)
    if not key:
        raise InvalidInput(f"'{uri}' names a bucket but no object key", code="bad_uri")
    return bucket, key


# --- model quality (score_batch / evaluate_labels) -------------------------------------------
def estimation_key(model: str, version: int) -> str:
    """Label-free performance estimator fitted on the version's holdout (domain.estimation)."""
    return version_prefix(model, version) + "estimation.json"


def predictions_index_prefix(model: str) -> str:
    return f"predictions/{model}/_index/"


def predictions_index_key(model: str, day: str, batch_id: str) -> str:
    """Empty marker ``predictions/<model>/_index/<YYYY-MM-DD>/<batch_id>``: lets the label join pick
    the prediction files of a time window from one listing, without reading them."""
    return f"{predictions_index_prefix(model)}{day}/{batch_id}"


def predictions_event_prefix(model: str) -> str:
    return f"predictions/{model}/_events/"


def predictions_event_key(model: str, day: str, batch_id: str) -> str:
    """Empty marker ``predictions/<model>/_events/<YYYY-MM-DD>/<batch_id>``, one per day of *event
    time* a batch's rows cover: a label file with timestamps reads only the batches of its days."""
    return f"{predictions_event_prefix(model)}{day}/{batch_id}"


def reference_estimation_key(model: str) -> str:
    """Label-free estimator fitted on a labeled reference upload (bring your own model)."""
    return f"models/{model}/reference/estimation.json"


def monitored_batch_id(model: str, scored_batch_id: str) -> str:
    """The id monitor_batch gives the inference file score_batch wrote for ``scored_batch_id``: its
    batch report lives under this id, its quality files under the scoring one."""
    return parse_upload_key(inference_key(model, scored_batch_id), url_encoded=False).batch_id


def estimation_sample_key(estimation: str) -> str:
    """The reference rows (features, probabilities, label) beside an ``estimation.json``: each
    batch's estimate reweights them to the batch's inputs (domain.shift_adjust)."""
    return estimation.rsplit("/", 1)[0] + "/estimation_sample.parquet"


def batch_realized_key(model: str, batch_id: str) -> str:
    """Realized metrics of one inference batch, recomputed whenever a label file adds labels to it."""
    return quality_prefix(model, batch_id) + "realized.json"


def batch_labels_prefix(model: str, batch_id: str) -> str:
    """The label rows (id, label) each label file contributed to an inference batch."""
    return quality_prefix(model, batch_id) + "labels/"


def estimated_performance_key(model: str, batch_id: str) -> str:
    return quality_prefix(model, batch_id) + "estimated.json"


def attribution_key(model: str, batch_id: str) -> str:
    """score_batch's attribution drift of a scored batch (domain.attribution), read by monitor_batch."""
    return quality_prefix(model, batch_id) + "attribution.json"


def inference_key(model: str, batch_id: str) -> str:
    """Where score_batch writes its scored rows (the monitor_batch trigger prefix, data bucket)."""
    return f"inference/{model}/{batch_id}.parquet"


# --- bring-your-own-model baselines (create_baseline) -----------------------------------------
def reference_baseline_prefix(model: str) -> str:
    """Latest baseline built from ``reference/<model>/...`` (artifacts bucket): baseline.json,
    statistics.json, constraints.json. monitor_batch uses it when the model has no champion."""
    return f"models/{model}/reference/baseline/"


# --- batch index (check_window, handle_alarm) -------------------------------------------------
def batch_index_prefix(model: str) -> str:
    """Empty markers ``reports/<model>/_index/<YYYY-MM-DD>/<entry>``, one per accepted batch, filed by
    the day the batch was monitored; the entry name encodes its times and rows (services.batch_index),
    so windows, volume history and "newest batch" come from one listing, without reading reports."""
    return f"reports/{model}/_index/"


def batch_index_key(model: str, day: str, entry: str) -> str:
    return f"{batch_index_prefix(model)}{day}/{entry}"


# --- scale-out (Step Functions Distributed Map, docs/scale-out.md) ------------------------------
def batch_chunks_prefix(model: str, batch_id: str) -> str:
    """``plan.json`` and one ``<index>.json`` chunk profile per chunk of a batch too large for one
    monitor_batch run (artifacts bucket); finish_large_batch merges them into the batch report."""
    return batch_report_prefix(model, batch_id) + "chunks/"
