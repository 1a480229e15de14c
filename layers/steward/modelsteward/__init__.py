"""Model Steward: keep machine-learning models healthy after they ship."""

__version__ = "0.1.0"
