"""Shared helpers of the test suites, importable as ``support`` (``pythonpath`` in pyproject.toml).

- :mod:`support.taprun`: the two ways to run the tap, one result type (:class:`~support.taprun.TapRun`):
  :func:`~support.taprun.run_tap_in_process` and :func:`~support.taprun.run_tap_process`;
- :mod:`support.tap`: a small sandbox for the tap's tests, configs, catalogs, the mutation clock;
- :mod:`support.directory`: the account (XM Directory) streams' sandbox and runs;
- :mod:`support.reliability`: sentinel credentials, the truth as a target holds it, schema checks;
- :mod:`support.sandbox_api`: sandboxes for the sandbox's own HTTP tests and a tiny API client;
- :mod:`support.answers_oracle`: the answer rows the sandbox's data should decompose into;
- :mod:`support.real_keys`: the real-recordings corpus (``tests/real/fixtures``);
- :mod:`support.e2e`: Meltano projects for the end-to-end tests;
- :mod:`support.paths`: where the repository and its folders are.

Test modules import these directly (``from support.tap import sandbox``); nothing edits ``sys.path``.
"""
