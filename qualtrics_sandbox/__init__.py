"""qualtrics-sandbox: a faithful local fake of the Qualtrics v3 API.

Tests, the demo and the benchmarks of tap-qualtrics run against it; users can use it to develop pipelines
and dbt models without a Qualtrics account. ``build_account`` makes the deterministic data,
``running_sandbox`` serves it over real HTTP on loopback.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["build_account", "running_sandbox"]

if TYPE_CHECKING:  # pragma: no cover
    from qualtrics_sandbox.data import build_account
    from qualtrics_sandbox.server import running_sandbox


def __getattr__(name: str) -> Any:
    """Import lazily so that `import qualtrics_sandbox.data` does not pull in werkzeug."""
    if name == "build_account":
        from qualtrics_sandbox.data import build_account  # noqa: PLC0415 - PEP 562 lazy attribute: the package import stays light

        return build_account
    if name == "running_sandbox":
        from qualtrics_sandbox.server import running_sandbox  # noqa: PLC0415 - lazy: werkzeug is an optional extra

        return running_sandbox
    raise AttributeError(name)
