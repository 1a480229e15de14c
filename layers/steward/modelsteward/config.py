"""Function settings read from the environment on first use, never at import.

moto must be active before a client is built, and tests change the environment between cases:
``settings()`` is cached per process and ``reset_settings()`` clears it.
"""

from __future__ import annotations

import functools
import os

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .errors import ConfigError


class Settings(BaseModel):
    """Names of the stack's resources, injected by template.yaml into every function."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    data_bucket: str = Field(default="", alias="DATA_BUCKET")
    artifacts_bucket: str = Field(default="", alias="ARTIFACTS_BUCKET")
    audit_bucket: str = Field(default="", alias="AUDIT_BUCKET")
    registry_table: str = Field(default="", alias="REGISTRY_TABLE")
    audit_table: str = Field(default="", alias="AUDIT_TABLE")
    episodes_table: str = Field(default="", alias="EPISODES_TABLE")
    idempotency_table: str = Field(default="", alias="IDEMPOTENCY_TABLE")
    notifications_topic_arn: str = Field(default="", alias="NOTIFICATIONS_TOPIC_ARN")
    alarms_topic_arn: str = Field(default="", alias="ALARMS_TOPIC_ARN")
    train_function_name: str = Field(default="", alias="TRAIN_FUNCTION_NAME")
    metrics_namespace: str = Field(default="ModelSteward", alias="POWERTOOLS_METRICS_NAMESPACE")
    stage: str = Field(default="local", alias="STAGE")
    #: the stack's name: alarm names start with ``<stack>-`` (template.yaml)
    stack_name: str = Field(default="", alias="STACK_NAME")
    #: the local cloud's folder of objects that emails link to (links.py); unset on AWS
    local_objects: str = Field(default="", alias="STEWARD_LOCAL_OBJECTS")
    region: str = Field(default="us-east-1", alias="AWS_DEFAULT_REGION")
    #: monitor_batch hands batches above this size to the scale-out state machine (docs/scale-out.md)
    scale_out_state_machine_arn: str = Field(default="", alias="SCALE_OUT_STATE_MACHINE_ARN")
    scale_out_bytes: int = Field(default=256 * 2**20, alias="SCALE_OUT_BYTES")
    #: target size of one chunk of a scaled-out batch (plan_chunks)
    scale_out_chunk_bytes: int = Field(default=128 * 2**20, alias="SCALE_OUT_CHUNK_BYTES")

    def require(self, *names: str) -> None:
        """Fail with one clear message naming every missing setting."""
        missing = [n for n in names if not getattr(self, n)]
        if missing:
            envs = [self.model_fields[n].alias or n for n in missing]
            raise ConfigError(f"missing environment variables: {', '.join(sorted(str(e) for e in envs))}")


@functools.cache
def settings() -> Settings:
    try:
        return Settings.model_validate(dict(os.environ))
    except ValidationError as exc:  # pragma: no cover - all fields are strings with defaults
        raise ConfigError(str(exc)) from exc


def reset_settings() -> None:
    settings.cache_clear()
