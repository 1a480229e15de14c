"""This suite's monitor engine, whole process, as monitor_batch runs it (minus S3).

    python steward.py baseline REFERENCE SPEC_JSON BASELINE_JSON OUT_JSON   # once, beforehand
    python steward.py monitor  CURRENT   SPEC_JSON BASELINE_JSON OUT_JSON   # what is measured

monitor: read_table -> conform -> PII screen -> Baseline.from_json -> assess_batch (profile_batch,
detect_drift, multivariate_drift, evaluate_quality) -> build_report -> report.json + report.html +
profile.json (written next to OUT_JSON). Files are conformed with the offline role, as
`steward check` does (the synthetic files have no id/prediction columns).
"""

import json
import sys
import time
from pathlib import Path

from modelsteward.domain.baseline import Baseline
from modelsteward.domain.baseline_builder import build_baseline
from modelsteward.domain.contract import conform
from modelsteward.domain.ingest import read_table
from modelsteward.domain.report import Lineage, Timings, build_report
from modelsteward.observability import peak_memory_mb
from modelsteward.reporting.batch import render_batch_report
from modelsteward.services.assessment import assess_batch, screen_pii
from modelsteward.spec import parse_spec


def main() -> None:
    mode, data_path, spec_path, baseline_path, out = sys.argv[1:6]
    started = time.perf_counter()
    spec = parse_spec(json.loads(Path(spec_path).read_text()))
    path = Path(data_path)
    conformed = conform(read_table(path.read_bytes(), path.name), spec, role="reference")
    table, pii = screen_pii(None, conformed.table, spec)
    if mode == "baseline":
        baseline = build_baseline(table, spec, sources=[{"uri": path.resolve().as_uri()}], seed=spec.seed)
        Path(baseline_path).write_text(baseline.to_json())
        Path(out).write_text(json.dumps({"flagged": None}))
        return
    baseline = Baseline.from_json(Path(baseline_path).read_bytes())
    assessment = assess_batch(table, baseline, spec, batch_id=path.name, findings=conformed.findings)
    report = build_report(
        model=spec.name,
        model_version=None,
        batch_id=path.name,
        source={"uri": path.resolve().as_uri(), "size": path.stat().st_size},
        created_at=time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime()),
        rows=table.num_rows,
        drift=assessment.drift,
        multivariate=assessment.multivariate,
        quality=assessment.quality,
        pii=pii,
        findings=conformed.findings,
        extra_columns=conformed.extra_columns,
        timings=Timings(
            processing_ms=round((time.perf_counter() - started) * 1000, 1),
            peak_memory_mb=peak_memory_mb(),
            stages_ms=assessment.stages_ms,
        ),
        lineage=Lineage(inputs=[{"uri": path.resolve().as_uri()}], baseline={"uri": baseline_path}, spec={}),
        time_range=(assessment.profile.time_min, assessment.profile.time_max),
    )
    out_dir = Path(out).parent
    (out_dir / "report.json").write_text(report.to_json(indent=2))
    (out_dir / "report.html").write_text(render_batch_report(report))
    (out_dir / "profile.json").write_text(assessment.profile.to_json())
    flagged = [f.name for f in assessment.drift.features if f.drifted]
    Path(out).write_text(json.dumps({"flagged": flagged, "stages_ms": assessment.stages_ms}))


if __name__ == "__main__":
    main()
