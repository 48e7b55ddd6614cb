"""The tap's one output channel: every Singer message goes through one buffer, in the order it was written.

:class:`TapMessageWriter` is the tap's ``message_writer_class``, so SCHEMA, STATE, ACTIVATE_VERSION and any
RECORD on the SDK's path arrive through :meth:`~TapMessageWriter.write_message`. Records already built to
their schema arrive through :meth:`~TapMessageWriter.write_records`: the SDK's record path (deselection
pruning, type conformance, stream-map transform, message object) costs several times the parse of a wide
survey response, and when it would change nothing (:func:`sdk_path_is_identity`) the same message is
serialized directly. Both append to the same buffer, so no message can overtake one written before it.

The buffer goes to stdout when it passes ``BLOCK_BYTES``, with every STATE (a STATE on stdout always has
every record it covers before it), and at exit.
"""

from __future__ import annotations

import atexit
import sys
import time
import weakref
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import msgspec
from singer_sdk.contrib.msgspec import MsgSpecWriter
from singer_sdk.mapper import SameRecordTransform
from singer_sdk.singerlib import Message, SingerMessageType

from tap_qualtrics.termination import uninterrupted


def _unsupported(value: Any) -> Any:
    """What msgspec cannot write natively (nothing a record built from JSON holds) is written as text."""
    return str(value)


# msgspec: the fastest encoder measured on wide response records (about 25% less time than orjson), and it
# writes integers past 64 bits (which json reads from an export and orjson refuses). Decimals stay numbers.
_ENCODER = msgspec.json.Encoder(enc_hook=_unsupported, decimal_format="number")

_open_writers: weakref.WeakSet[TapMessageWriter] = weakref.WeakSet()


def dumps(value: Any) -> bytes:
    """Compact JSON bytes (UTF-8, no spaces)."""
    return _ENCODER.encode(value)


def sdk_path_is_identity(stream: Any) -> bool:
    """True when the SDK's record path would leave the stream's records unchanged."""
    maps = stream.stream_maps
    return (
        len(maps) == 1
        and type(maps[0]) is SameRecordTransform
        and maps[0].stream_alias == stream.name
        and not maps[0].flattening_enabled
        and all(stream.mask.get(("properties", name), True) for name in stream.schema["properties"])
    )


class TapMessageWriter(MsgSpecWriter):
    """Buffers whole Singer messages and writes them to stdout in blocks, in the order they came."""

    BLOCK_BYTES = 1 << 20
    #: ``time_extracted`` is re-read at most this often (a clock read and format per record cost ~4 us).
    CLOCK_RESOLUTION_SECONDS = 0.05

    def __init__(self) -> None:
        super().__init__()
        self._pending: list[bytes] = []
        self._pending_bytes = 0
        self._heads: dict[str, bytes] = {}
        self._extracted = b""
        self._extracted_at = float("-inf")
        _open_writers.add(self)

    def write_message(self, message: Message) -> None:
        """Any message the SDK writes; a STATE sends everything before it (and itself) to stdout."""
        self._append(bytes(self.format_message(message)))
        if message.type == SingerMessageType.STATE:
            self.flush()

    def write_records(
        self,
        stream_name: str,
        records: Iterable[Mapping[str, Any] | msgspec.Struct],
        version: int | None = None,
    ) -> int:
        """RECORD messages as the SDK would write them, for records already in the stream's schema
        (dictionaries, or structs whose fields are its properties).

        Returns how many were written."""
        head = self._heads.get(stream_name)
        if head is None:
            head = self._heads[stream_name] = (
                b'{"type":"RECORD","stream":' + dumps(stream_name) + b',"record":'
            )
        tail = (
            b"" if version is None else b',"version":' + dumps(version)
        ) + self._time_extracted()
        rows = records if isinstance(records, list) else list(records)
        if not rows:
            return 0
        # One encoder call for the batch: its lines (JSON never holds a raw newline) become the records.
        lines = _ENCODER.encode_lines(rows)
        self._append(head + lines[:-1].replace(b"\n", tail + head) + tail)
        return len(rows)

    def flush(self) -> None:
        """Write what is buffered to stdout, whole (a stop signal waits until it is out)."""
        with uninterrupted():
            if not self._pending:
                return
            data = b"".join(self._pending)
            self._pending = []
            self._pending_bytes = 0
            write_stdout(data)

    def _append(self, line: bytes) -> None:
        self._pending.append(line)
        self._pending_bytes += len(line)
        if self._pending_bytes >= self.BLOCK_BYTES:
            self.flush()

    def _time_extracted(self) -> bytes:
        now = time.monotonic()
        if now - self._extracted_at >= self.CLOCK_RESOLUTION_SECONDS:
            # as the SDK's message writes it (msgspec: RFC 3339 with ``Z``)
            self._extracted = b',"time_extracted":' + dumps(datetime.now(UTC)) + b"}\n"
            self._extracted_at = now
        return self._extracted


def flush_all() -> None:
    """Send every writer's buffer to stdout (at exit, and before the tap ends itself on a signal)."""
    for writer in list(_open_writers):
        writer.flush()


atexit.register(flush_all)


def write_stdout(data: bytes) -> None:
    """Write whole Singer messages to stdout (its byte layer when it has one), never cut in two.

    A stop signal waits until the write is complete (:mod:`tap_qualtrics.termination`), and a write the
    signal interrupted returns short: what is left is written too.
    """
    out = sys.stdout
    buffer = getattr(out, "buffer", None)
    with uninterrupted():
        if buffer is None:  # a text-only stdout (test runners capture into StringIO)
            out.write(data.decode())
            out.flush()
            return
        out.flush()  # whatever the text layer holds was written before these messages
        view = memoryview(data)
        while view:
            written = buffer.write(view)
            view = view[written or 0 :]
        buffer.flush()
