"""A zip member inflated on a helper thread: the same bytes, its errors in order, and no thread left behind."""

from __future__ import annotations

import io
import random
import threading
import zipfile
import zlib

import pytest

from tap_qualtrics.exports.engine import ExportFailedError, export_lines
from tap_qualtrics.exports.inflate import InflateAhead


def _lines(count: int) -> bytes:
    """Response-like lines of uneven lengths (some longer than a chunk), compressible but not trivially."""
    rng = random.Random(7)
    letters = bytes(b"abcdefgh "[i % 9] for i in range(256))
    return b"".join(
        b'{"responseId":"R_%d","values":{"QID1":"%s"}}\n'
        % (i, rng.randbytes(rng.randrange(1, 5_000)).translate(letters))
        for i in range(count)
    )


def _zip(data: bytes) -> io.BytesIO:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("survey.ndjson", data)
    buffer.seek(0)
    return buffer


def _helpers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "tap-qualtrics-inflate"]


@pytest.mark.parametrize(
    ("chunk_bytes", "depth", "count"), [(1, 1, 10), (777, 2, 300), (1 << 20, 4, 300)]
)
def test_lines_are_the_member_s_bytes_in_order(chunk_bytes: int, depth: int, count: int) -> None:
    data = _lines(count)
    with (
        zipfile.ZipFile(_zip(data)) as archive,
        archive.open("survey.ndjson") as member,
        io.BufferedReader(InflateAhead(member, chunk_bytes, depth), 4096) as lines,
    ):
        assert list(lines) == data.splitlines(keepends=True)
    assert _helpers() == []


def test_export_lines_read_through_the_helper_are_the_exported_lines() -> None:
    data = _lines(2_000)
    assert b"".join(export_lines(_zip(data))) == data
    assert _helpers() == []


def test_an_error_reaches_the_reader_after_the_bytes_read_before_it() -> None:
    class Failing(io.RawIOBase):
        def __init__(self) -> None:
            self.chunks = [b"first\n", b"second\n"]

        def read(self, size: int = -1) -> bytes:
            if self.chunks:
                return self.chunks.pop(0)
            raise zlib.error("Error -3 while decompressing data: invalid distance too far back")

    reader = io.BufferedReader(InflateAhead(Failing(), 8, 1), 4)
    assert reader.readline() == b"first\n"
    assert reader.readline() == b"second\n"
    with pytest.raises(zlib.error, match="invalid distance"):
        reader.readline()
    reader.close()
    assert _helpers() == []


def test_a_damaged_member_fails_the_export_after_its_good_lines() -> None:
    data = _lines(2_000)
    archive = bytearray(_zip(data).getvalue())
    archive[len(archive) // 2] ^= 0xFF  # a flipped byte in the deflate stream
    read: list[bytes] = []
    with pytest.raises(ExportFailedError, match="corrupt zip archive"):
        read.extend(export_lines(io.BytesIO(bytes(archive))))
    assert read[0] == data.splitlines(keepends=True)[0]  # what came before the damage
    assert _helpers() == []


def test_closing_early_stops_the_helper_before_the_member_closes() -> None:
    data = _lines(300)
    with zipfile.ZipFile(_zip(data)) as archive, archive.open("survey.ndjson") as member:
        lines = io.BufferedReader(InflateAhead(member, 1_000, 2), 1_000)
        assert lines.readline() == data.splitlines(keepends=True)[0]
        assert len(_helpers()) == 1  # blocked two chunks ahead, far from the end
        lines.close()  # what a run that stops mid-export does, before the member is closed
        assert _helpers() == []
        assert not member.closed


def test_a_run_that_stops_mid_export_leaves_no_helper() -> None:
    lines = export_lines(_zip(_lines(300)))
    next(lines)
    lines.close()
    assert _helpers() == []
