"""A zip member inflated on a helper thread, a few chunks ahead of its reader.

zlib releases the GIL while it inflates, so the helper works on another core while the reader parses and
writes the chunks before it (on a 100-question survey, inflating is about a fifth of reading an export).
Memory stays bounded: at most ``depth`` chunks wait between the two threads.
"""

from __future__ import annotations

import io
import queue
import threading
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

CHUNK_BYTES = 1 << 20
DEPTH = 4


class InflateAhead(io.RawIOBase):
    """Reads ``member`` (a file-like object that inflates as it is read) on a helper thread.

    What the member raises (a corrupt or truncated archive) is raised to the reader, in order, after the
    bytes read before it. Closing stops the helper and waits for it, so the member can be closed next.
    """

    def __init__(
        self, member: IO[bytes], chunk_bytes: int = CHUNK_BYTES, depth: int = DEPTH
    ) -> None:
        super().__init__()
        self._chunks: queue.Queue[bytes | BaseException] = queue.Queue(depth)
        self._stop = threading.Event()
        self._current = memoryview(b"")
        self._offset = 0
        self._finished = False
        self._helper = threading.Thread(
            target=self._inflate,
            args=(member, chunk_bytes),
            name="tap-qualtrics-inflate",
            daemon=True,
        )
        self._helper.start()

    def _inflate(self, member: IO[bytes], chunk_bytes: int) -> None:
        # After a stop, at most one more item is put: close() drains the queue, so that put never blocks.
        try:
            while not self._stop.is_set():
                chunk = member.read(chunk_bytes)
                self._chunks.put(chunk)
                if not chunk:
                    return
        except BaseException as error:  # noqa: BLE001 - handed to the reader, which raises it
            self._chunks.put(error)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        if self._offset == len(self._current):
            if self._finished:
                return 0
            item = self._chunks.get()
            if isinstance(item, BaseException):
                self._finished = True
                raise item
            if not item:
                self._finished = True
                return 0
            self._current = memoryview(item)
            self._offset = 0
        target = memoryview(buffer).cast("B")
        size = min(len(target), len(self._current) - self._offset)
        target[:size] = self._current[self._offset : self._offset + size]
        self._offset += size
        return size

    def close(self) -> None:
        if not self.closed:
            self._stop.set()
            while True:
                try:
                    self._chunks.get_nowait()
                except queue.Empty:
                    break
            self._helper.join()
            self._current = memoryview(b"")
        super().close()
