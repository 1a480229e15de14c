"""The suite's exception hierarchy.

Adapters translate botocore ``ClientError`` into these (``raise ... from exc``) so services and
handlers never depend on boto3 types. ``InvalidInput`` subclasses carry a machine-readable
``code`` and a sentence a person can act on; they end in quarantine, never in a retry loop.
"""

from __future__ import annotations


class StewardError(Exception):
    """Base of every error the suite raises on purpose."""

    code = "steward_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


# --- input the suite cannot accept: never retried, always recorded -------------------------
class InvalidInput(StewardError):
    """Bad input from a user: recorded (quarantine reason, audit, metric), never retried."""

    code = "invalid_input"


class BatchRejected(InvalidInput):
    """A batch failed parsing, its data contract or its PII policy."""

    code = "batch_rejected"


class LimitExceeded(BatchRejected):
    """An explicit ingest limit (size, rows, columns, line length, decompression ratio) was hit."""

    code = "limit_exceeded"


class SpecError(InvalidInput):
    """A model spec failed validation; the message names the field and the fix."""

    code = "invalid_spec"


class UnknownModel(InvalidInput):
    """No spec is registered for the model named by the key."""

    code = "unknown_model"


class BaselineMissing(InvalidInput):
    """The model has no baseline yet: train it or upload a reference set."""

    code = "baseline_missing"


class UnknownPrefix(InvalidInput):
    """An object arrived under a prefix no function handles."""

    code = "unknown_prefix"


# --- integrity and concurrency -------------------------------------------------------------
class ArtifactIntegrityError(StewardError):
    """An artifact's SHA-256 does not match the registry, or its format is not allowed."""

    code = "artifact_integrity"


class ConflictError(StewardError):
    """A conditional write lost a race or found a newer decision; re-read and decide again."""

    code = "conflict"


class AuditChainBroken(StewardError):
    """The audit hash chain does not verify."""

    code = "audit_chain_broken"


# --- infrastructure ------------------------------------------------------------------------
class StorageError(StewardError):
    """A cloud call failed for a reason that a retry may fix (throttling, 5xx, timeout)."""

    code = "storage_error"


class NotFound(StewardError):
    """A stored object, row or version does not exist."""

    code = "not_found"


class ConfigError(StewardError):
    """The function's environment is missing a setting."""

    code = "config_error"


class PackagingError(ConfigError):
    """A layer's zipped packages are missing or corrupt: a deployment defect, not bad input."""

    code = "packaging_error"
