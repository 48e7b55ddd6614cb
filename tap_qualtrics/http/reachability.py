"""Whether Qualtrics has answered this run yet: a host that never did stops the whole run, once.

A wrong ``base_url`` port or host, or a network that does not reach Qualtrics, fails the run's very first
request. Every stream would otherwise retry its own first request with the full backoff and then report
the same failure. Instead, the first request that exhausts its retries without the host having answered
any request of the run raises :class:`HostUnreachableError` (one sentence), which stops the run as refused
credentials do; any request after that fails at once, without a connection attempt. While the host has
never answered, a failed connection is retried every ``retry_delay`` seconds instead of doubling the wait.

Once Qualtrics has answered, a failed connection is an ordinary transient failure: retried with the usual
backoff, and failing only the stream or survey it belongs to.
"""

from __future__ import annotations

import socket
import threading

import requests
from urllib3.exceptions import NameResolutionError

from tap_qualtrics.http.errors import QualtricsAuthError


class HostUnreachableError(QualtricsAuthError):
    """No request of the run reached Qualtrics: no stream can succeed, so the run stops (like refused
    credentials, hence the base class the streams let through)."""


def why_unreachable(error: BaseException) -> str:
    """A few words on why a connection failed, read from the chain of causes (never the URL or headers)."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ConnectionRefusedError):
            return "connection refused"
        if isinstance(current, (socket.gaierror, NameResolutionError)):
            return "host name not found"
        if isinstance(current, (requests.exceptions.ConnectTimeout, TimeoutError, socket.timeout)):
            return "connection timed out"
        if isinstance(current, (ConnectionResetError, ConnectionAbortedError)):
            return "connection closed without an answer"
        if "RemoteDisconnected" in type(current).__name__:
            return "connection closed without an answer"
        current = current.__cause__ or current.__context__ or _first_arg_error(current)
    return f"connection failed: {type(error).__name__}"


def _first_arg_error(error: BaseException) -> BaseException | None:
    """urllib3 and requests wrap the original error as an argument rather than a cause."""
    for arg in getattr(error, "args", ()):
        if isinstance(arg, BaseException):
            return arg
        reason = getattr(arg, "reason", None)
        if isinstance(reason, BaseException):
            return reason
    reason = getattr(error, "reason", None)
    return reason if isinstance(reason, BaseException) else None


def unreachable_sentence(origin: str, error: BaseException, attempts: int) -> str:
    """One sentence: which host, why, how often it was tried, and what to check."""
    tries = "once" if attempts == 1 else f"{attempts} times"
    return (
        f"Could not reach Qualtrics at {origin} ({why_unreachable(error)}; tried {tries}): "
        "check base_url or data_center, and that this machine can reach that host."
    )


class Reachability:
    """Per run: has any request been answered, and has the host been given up on."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.answered = False
        self._given_up: str | None = None

    def note_answer(self) -> None:
        """A response arrived (any status): the host is reachable."""
        self.answered = True

    def check(self) -> None:
        """Raise at once if an earlier request already found the host unreachable."""
        if self._given_up is not None:
            raise HostUnreachableError(self._given_up)

    def give_up(self, origin: str, error: BaseException, attempts: int) -> HostUnreachableError:
        """The error that stops the run after ``attempts`` failed connections to ``origin``."""
        sentence = unreachable_sentence(origin, error, attempts)
        with self._lock:
            if self._given_up is None:
                self._given_up = sentence
            return HostUnreachableError(self._given_up)
