"""Which heavy packages a fresh interpreter holds after running some imports: light functions ship
without numpy, pandas, scipy, scikit-learn or pyarrow, so what they import must not pull them in."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("numpy", "pandas", "scipy", "sklearn", "pyarrow")


def heavy_after(code: str, heavy: tuple[str, ...] = HEAVY) -> list[str]:
    """The packages of ``heavy`` in ``sys.modules`` once ``code`` (import statements) has run."""
    probe = f"import json, sys\n{code}\nprint(json.dumps(sorted(m for m in {heavy!r} if m in sys.modules)))\n"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    found: list[str] = json.loads(out.stdout.strip().splitlines()[-1])
    return found
