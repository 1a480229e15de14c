"""The one loader of model specs: ``specs/<model>/spec.yaml`` in the data bucket, with its exact version."""

from __future__ import annotations

from .. import layout
from ..errors import LimitExceeded, NotFound, SpecError, UnknownModel
from ..ports import ObjectRef
from ..spec import MAX_SPEC_BYTES, ModelSpec, parse_spec
from .context import Context

__all__ = ["MAX_SPEC_BYTES", "load_spec"]


def load_spec(ctx: Context, model: str, *, version_id: str | None = None) -> tuple[ModelSpec, ObjectRef]:
    """The model's spec and the object version it came from (``version_id``: that exact version, as
    a scale-out run pinned it).

    Raises UnknownModel when no spec is registered, SpecError when it does not validate (both are
    InvalidInput: the batch that needed it is quarantined with the reason, never retried).
    """
    bucket = ctx.settings.data_bucket
    key = layout.spec_key(model)
    try:
        obj = ctx.store.get(bucket, key, version_id, max_bytes=MAX_SPEC_BYTES)
    except LimitExceeded as exc:  # refused from the object's size, before its body is read
        raise SpecError(
            f"{layout.s3_uri(bucket, key)} is larger than {MAX_SPEC_BYTES} bytes, the limit for a "
            "model spec; upload the real spec there again"
        ) from exc
    except NotFound as exc:
        raise UnknownModel(
            f"no spec for model '{model}' at {layout.s3_uri(bucket, key)}; register it with "
            f"`steward models onboard` (or upload the YAML there), then upload the batch again"
        ) from exc
    spec = parse_spec(obj.body)
    if spec.name != model:
        raise SpecError(
            f"{layout.s3_uri(bucket, key)} describes model '{spec.name}', not '{model}'; fix its name field"
        )
    return spec, obj.ref
