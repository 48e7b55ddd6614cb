"""singer-sdk's standard tap tests, against a small sandbox served over real HTTP.

``get_tap_test_class`` builds the tap at collection time, so the sandbox starts when this module is
imported and stops when the test process exits.
"""

from __future__ import annotations

import atexit
import contextlib
from typing import Any

from singer_sdk.testing import SuiteConfig, get_tap_test_class
from support.tap import sandbox, token_config

from tap_qualtrics.tap import TapQualtrics

_SANDBOX_LIFETIME = contextlib.ExitStack()
SANDBOX = _SANDBOX_LIFETIME.enter_context(sandbox(seed=11, surveys=3, responses=6, users=8))
atexit.register(_SANDBOX_LIFETIME.close)
# responses in progress (for responses_in_progress and its answer rows: the generated data holds few), and one
# deleted response per survey (for response_deletion_checks and live_response_ids)
for _survey_id in SANDBOX.truth()["surveys"]:
    SANDBOX.mutate({"survey_id": _survey_id, "start": 2, "delete": 1})


def _every_stream_selected() -> dict[str, Any]:
    """The catalog with every stream selected, as a user selects streams: the suite's own select-all comes
    after the tap has built its stream maps, so the streams not selected by default (responses_in_progress
    and its answer rows) would be checked against a schema without properties."""
    catalog: dict[str, Any] = TapQualtrics(config={}, validate_config=False).catalog_dict
    for entry in catalog["streams"]:
        for metadata in entry["metadata"]:
            if metadata["breadcrumb"] == []:
                metadata["metadata"]["selected"] = True
    return catalog


TestTapQualtrics = get_tap_test_class(
    tap_class=TapQualtrics,
    config=token_config(SANDBOX),
    suite_config=SuiteConfig(max_records_limit=40),
    catalog=_every_stream_selected(),
)
