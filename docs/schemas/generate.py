"""Write the JSON Schemas of the governance documents and the window report from their pydantic models
(report.json of a batch has its own page: docs/report-schema.md).

python docs/schemas/generate.py          # rewrite the schemas
python docs/schemas/generate.py --check  # exit 1 when a schema is out of date (CI runs this via
                                         # tests/unit/test_model_card.py)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def schemas() -> dict[str, dict[str, Any]]:
    from modelsteward.domain.audit_chain import AuditRecord
    from modelsteward.domain.governance_report import GovernanceReport
    from modelsteward.domain.model_card import ModelCard
    from modelsteward.domain.window_report import WindowReport

    out = {}
    for name, model, title in (
        ("audit-record", AuditRecord, "Model Steward audit record"),
        ("model-card", ModelCard, "Model Steward model card (card.json)"),
        ("governance-report", GovernanceReport, "Model Steward governance audit report (report.json)"),
        ("window-report", WindowReport, "Model Steward window report (report.json of a window)"),
    ):
        schema = model.model_json_schema(mode="serialization")
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        schema["title"] = title
        out[f"{name}.schema.json"] = schema
    return out


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def main(argv: list[str]) -> int:
    stale = []
    for filename, schema in schemas().items():
        path = HERE / filename
        text = render(schema)
        if "--check" in argv:
            if not path.exists() or path.read_text() != text:
                stale.append(filename)
        else:
            path.write_text(text)
    if stale:
        print(f"out of date: {', '.join(stale)}; run python docs/schemas/generate.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
