"""singer-sdk's standard tap tests, against a small sandbox served over real HTTP.

``get_tap_test_class`` builds the tap at collection time, so the sandbox starts when this module is
imported and stops when the test process exits.
"""

from __future__ import annotations

import atexit
import contextlib

from singer_sdk.testing import SuiteConfig, get_tap_test_class
from support.tap import every_stream_selected, give_every_stream_records, sandbox, token_config

from tap_qualtrics.tap import TapQualtrics

_SANDBOX_LIFETIME = contextlib.ExitStack()
SANDBOX = _SANDBOX_LIFETIME.enter_context(sandbox(seed=11, surveys=3, responses=6, users=8))
atexit.register(_SANDBOX_LIFETIME.close)
give_every_stream_records(SANDBOX)

TestTapQualtrics = get_tap_test_class(
    tap_class=TapQualtrics,
    config=token_config(SANDBOX),
    suite_config=SuiteConfig(max_records_limit=40),
    catalog=every_stream_selected(),
)
