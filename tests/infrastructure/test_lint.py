"""cfn-lint on template.yaml and on its translation (the translation is what catches SAM mistakes)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from infra_helpers import TEMPLATE, lint_translated, run_cfn_lint

from stewardtools.localcloud.translate import loads_template, translate


def test_template_passes_cfn_lint() -> None:
    result = run_cfn_lint(TEMPLATE)
    assert result.returncode == 0, result.output


def test_translated_template_passes_cfn_lint(translated: dict[str, Any], tmp_path: Path) -> None:
    result = lint_translated(translated, tmp_path / "translated.json")
    assert result.returncode == 0, result.output


def test_bad_ref_in_function_environment_is_caught_only_after_translation(tmp_path: Path) -> None:
    text = TEMPLATE.read_text(encoding="utf-8")
    good = "          REGISTRY_TABLE: !Ref RegistryTable\n"
    assert good in text
    broken_text = text.replace(good, "          REGISTRY_TABLE: !Ref RegistryTabel\n", 1)
    broken_path = tmp_path / "template.yaml"
    broken_path.write_text(broken_text, encoding="utf-8")

    translated = translate(loads_template(broken_text))
    with ThreadPoolExecutor(max_workers=2) as pool:  # two cfn-lint processes side by side
        raw_run = pool.submit(run_cfn_lint, broken_path)
        translated_run = pool.submit(lint_translated, translated, tmp_path / "translated.json")
        raw, linted = raw_run.result(), translated_run.result()

    assert "RegistryTabel" not in raw.output  # why the suite translates before linting
    assert linted.returncode != 0
    assert "E1020" in linted.output
    assert "RegistryTabel" in linted.output
