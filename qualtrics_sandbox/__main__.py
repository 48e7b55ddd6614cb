"""``python -m qualtrics_sandbox serve ...`` — the same as the ``qualtrics-sandbox`` command."""

from qualtrics_sandbox.cli import main

raise SystemExit(main())
