"""singer-sdk's standard tap tests with small pages, so every account stream pages in them too.

``get_tap_test_class`` builds the tap at collection time, so the sandbox starts when this module is
imported and stops when the test process exits.
"""

from __future__ import annotations

import atexit
import contextlib

from singer_sdk.testing import SuiteConfig, get_tap_test_class
from support.directory import sandbox, token_config
from support.tap import every_stream_selected, give_every_stream_records

from tap_qualtrics.tap import TapQualtrics

_SANDBOX_LIFETIME = contextlib.ExitStack()
SANDBOX = _SANDBOX_LIFETIME.enter_context(sandbox(seed=15, surveys=3, responses=5, users=6))
atexit.register(_SANDBOX_LIFETIME.close)
give_every_stream_records(SANDBOX)

TestTapQualtricsAccountStreams = get_tap_test_class(
    tap_class=TapQualtrics,
    config=token_config(SANDBOX, page_size=3),
    suite_config=SuiteConfig(max_records_limit=60),
    catalog=every_stream_selected(),
)
