"""The tools around the runtime: the `steward` CLI, the local cloud, sample data, report examples.

They run on a person's machine or in tests, never in Lambda: they depend on ``modelsteward`` (the
runtime, of which each function ships the modules its handler reaches) and the runtime never imports
them (tests/unit/test_architecture.py). A function's build copies only from ``layers/steward``.
"""
