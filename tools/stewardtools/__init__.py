"""The tools around the runtime: the `steward` CLI, the local cloud, sample data, report examples.

They run on a person's machine or in tests, never in Lambda: they depend on ``modelsteward`` (the
runtime every function ships in StewardLayer) and the runtime never imports them
(tests/unit/test_architecture.py). The layer build copies only ``layers/steward/modelsteward``.
"""
