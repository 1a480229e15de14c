"""CloudWatch metric names and dimensions: the contract between emitters, alarms and dashboards.

Namespace ``ModelSteward``. Dimensions are exactly ``{"model": m}`` unless noted; docs/metrics.md
lists each with its unit and the alarm that watches it.
"""

NAMESPACE = "ModelSteward"

# monitor_batch (dims: model)
BATCH_ROWS = "BatchRows"  # Count
BATCH_ACCEPTED = "BatchAccepted"  # Count (1 per accepted batch; freshness alarms watch it)
BATCH_QUARANTINED = "BatchQuarantined"  # Count
DRIFTED_FEATURE_SHARE = "DriftedFeatureShare"  # None, 0..1, importance-weighted
DATASET_DRIFT = "DatasetDrift"  # None, 0/1
MULTIVARIATE_DRIFT_AUC = "MultivariateDriftAuc"  # None, 0.5..1
QUALITY_VIOLATIONS = "QualityViolations"  # Count
PII_FINDINGS = "PiiFindings"  # Count
PROCESSING_TIME = "ProcessingTime"  # Milliseconds
PEAK_MEMORY = "PeakMemory"  # Megabytes
FEATURE_DRIFT_SCORE = "FeatureDriftScore"  # None; dims: model, feature
BIAS_BREACH = "BiasBreach"  # None, 0/1: the batch's predictions break a committed fairness bound
BIAS_PARITY_DIFFERENCE = "BiasParityDifference"  # None, 0..1: worst demographic parity difference
ATTRIBUTION_NDCG = "AttributionNdcg"  # None, 0..1: nDCG of the batch's attribution ranking vs the baseline
BIAS_DISPARATE_IMPACT = "BiasDisparateImpact"  # None, 0..1: worst disparate impact ratio

# every batch-judging function (dims: model, signal): 1 while the signal's episode is open, else 0;
# the stack's per-signal alarms watch it (docs/alerts.md)
EPISODE_OPEN = "EpisodeOpen"  # None, 0/1

# check_window (dims: model)
WINDOW_DRIFTED_FEATURE_SHARE = "WindowDriftedFeatureShare"
WINDOW_ROWS = "WindowRows"
HOURS_SINCE_LAST_BATCH = "HoursSinceLastBatch"  # None

# score_batch (dims: model)
SCORING_ROWS = "ScoringRows"
SCORING_THROUGHPUT = "ScoringThroughput"  # Count/Second
SCORING_LATENCY_P50 = "ScoringLatencyP50"  # Milliseconds per row (micro-batch timing)
SCORING_LATENCY_P95 = "ScoringLatencyP95"  # Milliseconds per row
SCORING_BATCH_LATENCY = "ScoringBatchLatency"  # Milliseconds
MODEL_LOAD_TIME = "ModelLoadTime"  # Milliseconds
COLD_START = "ColdStart"  # Count
CPU_TIME = "CpuTime"  # Milliseconds
SCORING_PEAK_MEMORY = "ScoringPeakMemory"  # Megabytes (monitor_batch's is PeakMemory)
SCORING_ERRORS = "ScoringErrors"  # Count

# evaluate_labels (dims: model; and model, variant)
REALIZED_BIAS_BREACH = "RealizedBiasBreach"  # None, 0/1 (dims: model): labelled champion rows break a bound
REALIZED_PRIMARY_METRIC = "RealizedPrimaryMetric"  # None
REALIZED_PRIMARY_METRIC_DROP = "RealizedPrimaryMetricDrop"  # None: validation score - realized (>0 = worse)
ESTIMATED_PRIMARY_METRIC = "EstimatedPrimaryMetric"  # None
ESTIMATED_PRIMARY_METRIC_DROP = "EstimatedPrimaryMetricDrop"  # None
LABELS_MATCHED = "LabelsMatched"
LABELS_UNMATCHED = "LabelsUnmatched"


def realized(metric: str) -> str:
    """Per-metric realized value, e.g. ``Realized_accuracy``."""
    return f"Realized_{metric}"


def estimated(metric: str) -> str:
    return f"Estimated_{metric}"
