"""The Docker-free local cloud: template.yaml on moto, handlers in-process (docs/local-cloud.md).

``from stewardtools.localcloud import LocalCloud`` is the entry point; the package imports moto
only when a LocalCloud starts, so importing it (e.g. for ``translate``) stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from stewardtools.localcloud.deploy import LocalCloud

__all__ = ["LocalCloud"]


def __getattr__(name: str) -> Any:
    if name == "LocalCloud":
        from stewardtools.localcloud.deploy import LocalCloud

        return LocalCloud
    raise AttributeError(name)
