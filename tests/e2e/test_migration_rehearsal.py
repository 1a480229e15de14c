"""docs/migrating-from-sagemaker.md's rehearsal runs as written and shows estimates and realized metrics."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "migrating-from-sagemaker.md"


def test_the_rehearsal_runs_as_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = DOC.read_text(encoding="utf-8")
    section = text[text.index("## Rehearsal: from capture files to alarms") :]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)  # type: ignore[union-attr]
    monkeypatch.chdir(tmp_path)  # the local cloud's state folder goes under the working directory
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, str(DOC), "exec"), {"__name__": "__main__"})
    printed = out.getvalue()
    estimated = re.findall(r"estimated roc_auc (\d\.\d+)", printed)
    realized = re.findall(r"realized roc_auc (\d\.\d+) on 500 labels", printed)
    assert len(estimated) == 4 and len(realized) == 4, printed
    assert all(0.6 < float(v) <= 1.0 for v in estimated + realized), printed
