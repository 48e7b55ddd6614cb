"""Benchmarks for tap-qualtrics against the sandbox: throughput vs. a parse floor, memory, concurrent exports.

Run ``python -m bench`` (or ``make bench``); ``python -m bench --help`` lists the options for smaller runs.
Benchmarks print figures; tests never assert on timings.
"""
