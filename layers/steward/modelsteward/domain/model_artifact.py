"""Model artifacts as skops files: checked by SHA-256 and a type allowlist before anything loads.

Loading a pickle runs whatever code its bytes name, so the suite never unpickles. A skops file is a
zip of a JSON schema plus numpy arrays; it can only construct the types its schema names. We

1. compare the bytes' SHA-256 with the registry's (tampering or a swapped object fails here,
   before skops parses a single byte),
2. walk the schema and refuse any type from a module outside sklearn/numpy/scipy/builtins,
3. ask skops which types it does not trust by default and refuse any outside
   :data:`ALLOWED_UNTRUSTED_TYPES` (the few sklearn/numpy internals our pipelines contain),
4. load with exactly that list trusted.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from typing import Any

from ..errors import ArtifactIntegrityError

ARTIFACT_FORMAT = "skops"
CONTENT_TYPE = "application/octet-stream"

#: Types skops does not trust by default that our pipelines legitimately contain.
ALLOWED_UNTRUSTED_TYPES: frozenset[str] = frozenset(
    {
        "numpy.dtype",
        "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
        "sklearn.ensemble._hist_gradient_boosting.binning._BinMapper",
        "sklearn._loss.loss.HalfBinomialLoss",
        "sklearn._loss.loss.HalfMultinomialLoss",
        "sklearn._loss.loss.HalfSquaredError",
        "sklearn._loss.link.IdentityLink",
        "sklearn._loss.link.LogitLink",
        "sklearn._loss.link.MultinomialLogit",
        "sklearn._loss._loss.CyHalfBinomialLoss",
        "sklearn._loss._loss.CyHalfMultinomialLoss",
        "sklearn._loss._loss.CyHalfSquaredError",
        "sklearn.tree._tree.Tree",
        "sklearn.neighbors._kd_tree.KDTree",
        "sklearn.neighbors._ball_tree.BallTree",
        "scipy.sparse._csr.csr_matrix",
        "scipy.sparse._csr.csr_array",
    }
)

#: Top-level modules whose types may appear anywhere in an artifact's schema.
ALLOWED_MODULE_ROOTS: frozenset[str] = frozenset({"sklearn", "numpy", "scipy", "builtins", "collections"})


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def dump_model(pipeline: Any) -> bytes:
    """Serialize a fitted pipeline with skops (never pickle)."""
    import skops.io as sio

    return bytes(sio.dumps(pipeline))


def load_model(data: bytes, expected_sha256: str) -> Any:
    """Load a pipeline only if its bytes match ``expected_sha256`` and every type is allowed."""
    if not expected_sha256:
        raise ArtifactIntegrityError("refusing to load a model artifact without a registered SHA-256")
    actual = sha256_hex(data)
    if actual != expected_sha256.lower():
        raise ArtifactIntegrityError(
            f"model artifact SHA-256 {actual[:16]}... does not match the registry's "
            f"{expected_sha256[:16]}...: the object was modified or swapped; refusing to load"
        )
    for module, name in schema_types(data):
        if module.split(".", 1)[0] not in ALLOWED_MODULE_ROOTS:
            raise ArtifactIntegrityError(f"model artifact contains the disallowed type '{module}.{name}'")
    import skops.io as sio

    try:
        untrusted = list(sio.get_untrusted_types(data=data))
    except Exception as exc:  # skops raises several types on a malformed file
        raise ArtifactIntegrityError(f"model artifact is not a readable skops file: {exc}") from exc
    refused = sorted(t for t in untrusted if t not in ALLOWED_UNTRUSTED_TYPES)
    if refused:
        raise ArtifactIntegrityError(
            f"model artifact contains the disallowed type '{refused[0]}'"
            + (f" (and {len(refused) - 1} more)" if len(refused) > 1 else "")
        )
    try:
        return sio.loads(data, trusted=untrusted)
    except Exception as exc:
        raise ArtifactIntegrityError(f"model artifact could not be loaded: {exc}") from exc


def schema_types(data: bytes) -> set[tuple[str, str]]:
    """Every (module, class) named in a skops file's schema."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            schema = json.loads(archive.read("schema.json"))
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise ArtifactIntegrityError(f"model artifact is not a skops file: {exc}") from exc
    found: set[tuple[str, str]] = set()
    stack: list[Any] = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            module = node.get("__module__")
            if isinstance(module, str):
                found.add((module, str(node.get("__class__", ""))))
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found
