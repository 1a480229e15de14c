"""Whether a model has data the suite can retrain it on: light (no pandas), so handle_alarm can ask
before it announces a retrain, and train_model's retrain reads the same places."""

from __future__ import annotations

from ..spec import ModelSpec
from .context import Context


def training_data_available(ctx: Context, spec: ModelSpec) -> bool:
    """True when a retrain of the model finds data: a recorded training snapshot, a file under
    ``training/<model>/`` or a labeled pool object (and, for ``retrain.from_labeled_pool``, the labeled
    reference). At most three LIST requests on the data bucket, stopped at the first key."""
    state = ctx.registry.get_model_state(spec.name) if ctx.registry is not None else {}
    if (state or {}).get("last_training_data"):
        return True
    bucket = ctx.settings.data_bucket
    prefixes: tuple[str, ...] = (f"training/{spec.name}/", f"pool/{spec.name}/")
    if spec.retrain.from_labeled_pool:  # the labeled reference of a model served elsewhere
        prefixes += (f"reference/{spec.name}/",)
    return any(next(iter(ctx.store.list_keys(bucket, p)), None) for p in prefixes)
