"""``qualtrics-sandbox serve``: run the sandbox until SIGINT/SIGTERM.

When the server is ready it prints exactly one JSON line on stdout, e.g.::

    {"base_url": "http://127.0.0.1:8765", "api_token": "...", "client_id": "...", "client_secret":
    "...",
     "brand_id": "sandboxbrand", "datacenter": "sandbox1", "seed": 1, "surveys": 12, "responses":
     40, ...}

and nothing else on stdout (diagnostics go to stderr). Rate limits are on by default here.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from collections.abc import Sequence
from typing import Any

from qualtrics_sandbox.server import running_sandbox


def _on_off(value: str) -> bool:
    if value.lower() in ("on", "true", "1", "yes"):
        return True
    if value.lower() in ("off", "false", "0", "no"):
        return False
    raise argparse.ArgumentTypeError("expected on or off")


def _non_negative(kind: type) -> Any:
    def parse(value: str) -> Any:
        number = kind(value)
        if number < 0:
            raise argparse.ArgumentTypeError("must be >= 0")
        return number

    return parse


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="qualtrics-sandbox", description="A local fake of the Qualtrics v3 API."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser(
        "serve", help="serve a deterministic account over HTTP until interrupted"
    )
    serve.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=0, help="port (default 0: any free port)")
    serve.add_argument("--seed", type=int, default=1)
    serve.add_argument("--surveys", type=_non_negative(int), default=12)
    serve.add_argument(
        "--responses", type=_non_negative(int), default=40, help="responses of an ordinary survey"
    )
    serve.add_argument(
        "--large-responses",
        type=_non_negative(int),
        default=None,
        help="responses of the large survey (default 5 x --responses)",
    )
    serve.add_argument(
        "--questions",
        type=_non_negative(int),
        default=None,
        help="questions per survey (data default)",
    )
    serve.add_argument(
        "--users", type=_non_negative(int), default=None, help="number of users (data default)"
    )
    serve.add_argument(
        "--export-polls",
        type=_non_negative(int),
        default=1,
        help="in-progress polls before an export completes (default 1)",
    )
    serve.add_argument(
        "--export-seconds",
        type=_non_negative(float),
        default=0.0,
        help="seconds an export stays in progress at least (default 0)",
    )
    serve.add_argument(
        "--latency-ms", type=_non_negative(float), default=0.0, help="added latency per API request"
    )
    serve.add_argument(
        "--rate-limits",
        type=_on_off,
        default=True,
        metavar="on|off",
        help="Qualtrics rate limits (default on)",
    )
    serve.add_argument(
        "--retry-after-seconds",
        type=_non_negative(float),
        default=None,
        help="Retry-After sent with 429 (default: seconds until a slot frees)",
    )
    serve.add_argument(
        "--token-ttl-seconds",
        type=float,
        default=3600.0,
        help="OAuth token lifetime (default 3600)",
    )
    serve.add_argument(
        "--response-pending-seconds",
        type=_non_negative(float),
        default=0.0,
        help="single-response GET answers 202 while a response is younger than this",
    )
    serve.add_argument(
        "--faults",
        type=json.loads,
        default=None,
        help="initial faults as JSON, e.g. '{\"http_429\": 0.05}'",
    )
    serve.add_argument("--access-log", action="store_true", help="log every request on stderr")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.token_ttl_seconds <= 0:
        print("qualtrics-sandbox: --token-ttl-seconds must be > 0", file=sys.stderr)
        return 2

    stop = threading.Event()

    def handle_signal(_signum: int, _frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, handle_signal)
    signal.signal(signal.SIGINT, handle_signal)

    knobs: dict[str, Any] = {
        "export_polls": args.export_polls,
        "export_seconds": args.export_seconds,
        "latency_ms": args.latency_ms,
        "rate_limits": args.rate_limits,
        "retry_after_seconds": args.retry_after_seconds,
        "token_ttl_seconds": args.token_ttl_seconds,
        "response_pending_seconds": args.response_pending_seconds,
    }
    if args.faults:
        knobs["faults"] = args.faults
    if args.users is not None:
        knobs["users"] = args.users
    try:
        with running_sandbox(
            seed=args.seed,
            surveys=args.surveys,
            responses=args.responses,
            large_responses=args.large_responses,
            questions=args.questions,
            host=args.host,
            port=args.port,
            access_log=args.access_log,
            **knobs,
        ) as sandbox:
            info = {
                **sandbox.info(),
                "seed": args.seed,
                "surveys": args.surveys,
                "responses": args.responses,
                "large_responses": args.large_responses,
                "questions": args.questions,
                "export_polls": args.export_polls,
                "export_seconds": args.export_seconds,
                "latency_ms": args.latency_ms,
                "rate_limits": args.rate_limits,
                "token_ttl_seconds": args.token_ttl_seconds,
            }
            sys.stdout.write(json.dumps(info) + "\n")
            sys.stdout.flush()
            while not stop.wait(0.5):
                pass
    except KeyboardInterrupt:
        pass
    except SystemExit as exc:  # werkzeug exits when the port is taken
        return int(exc.code or 1)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
