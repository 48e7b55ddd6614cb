"""The export engine on its own: polling schedule, failures, and reading export files."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Mapping
from typing import IO, Any

import pytest

from tap_qualtrics.exports.engine import (
    ExportFailedError,
    ExportTiming,
    ExportWindow,
    ResponseExporter,
    SplittableExportError,
    export_request_body,
    read_export_file,
)

NDJSON = b'{"responseId":"R_1","values":{}}\n{}\n\n{"responseId":"R_2","values":{}}\n{}\n'


class FakeTransport:
    """Scripted export: progress results in order, then a file."""

    def __init__(self, progress: list[dict[str, Any]], file_bytes: bytes = NDJSON) -> None:
        self.progress = list(progress)
        self.file_bytes = file_bytes
        self.calls: list[tuple[str, str, Any]] = []

    def request_result(
        self, method: str, path: str, body: Mapping[str, Any] | None = None
    ) -> Mapping[str, Any]:
        self.calls.append((method, path, body))
        if method == "POST":
            return {"progressId": "ES_1", "percentComplete": 0.0, "status": "inProgress"}
        return self.progress.pop(0)

    def download(self, path: str, destination: IO[bytes]) -> None:
        self.calls.append(("GET", path, None))
        destination.write(self.file_bytes)


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _exporter(
    transport: FakeTransport, clock: FakeClock, *, poll: float = 1, timeout: float = 100
) -> ResponseExporter:
    return ResponseExporter(
        transport, ExportTiming(poll, timeout), sleep=clock.sleep, clock=lambda: clock.now
    )


def _export(
    exporter: ResponseExporter, survey_id: str, window: ExportWindow
) -> list[dict[str, Any]]:
    """The tap's path: fetch the export file, then read it."""
    with exporter.fetch(survey_id, window) as spool:
        return list(read_export_file(spool))


def test_polls_with_growing_intervals_then_downloads() -> None:
    in_progress = {"status": "inProgress", "percentComplete": 50.0}
    transport = FakeTransport(
        [in_progress, in_progress, in_progress, {"status": "complete", "fileId": "F-def"}],
        _zip({"Café / Q3: Zufriedenheit – ÜX.ndjson": NDJSON}),  # noqa: RUF001 - a real survey name
    )
    clock = FakeClock()
    window = ExportWindow("2024-01-01T00:00:00Z", "2024-02-01T00:00:00Z")
    responses = _export(_exporter(transport, clock), "SV_1", window)

    assert [r["responseId"] for r in responses] == ["R_1", "R_2"]
    assert clock.sleeps == [1, 1.5, 2.25, 3.375]
    assert transport.calls[0] == (
        "POST",
        "/surveys/SV_1/export-responses",
        export_request_body(window),
    )
    assert transport.calls[-1] == ("GET", "/surveys/SV_1/export-responses/F-def/file", None)


def test_request_body_asks_for_sorted_compressed_ndjson() -> None:
    body = export_request_body(ExportWindow(None, "2024-02-01T00:00:00Z"))
    assert body == {
        "format": "ndjson",
        "compress": True,
        "sortByLastModifiedDate": True,
        "endDate": "2024-02-01T00:00:00Z",
    }


def test_failed_status_raises_an_error_shorter_windows_may_cure() -> None:
    """Qualtrics fails exports over 1.8 GB with no reason given: the caller may cut the window in two."""
    transport = FakeTransport([{"status": "failed", "fileId": None, "percentComplete": 100}])
    with pytest.raises(SplittableExportError, match="failed") as raised:
        _export(
            _exporter(transport, FakeClock()), "SV_1", ExportWindow(None, "2024-02-01T00:00:00Z")
        )
    assert raised.value.pieces == 2


def test_complete_without_file_id_is_not_worth_splitting() -> None:
    transport = FakeTransport([{"status": "complete", "fileId": None}])
    with pytest.raises(ExportFailedError, match="without a fileId") as raised:
        _export(
            _exporter(transport, FakeClock()), "SV_1", ExportWindow(None, "2024-02-01T00:00:00Z")
        )
    assert not isinstance(raised.value, SplittableExportError)


def test_overall_timeout_raises_without_downloading() -> None:
    transport = FakeTransport([{"status": "inProgress"}] * 100)
    clock = FakeClock()
    with pytest.raises(ExportFailedError, match="export_timeout_seconds") as raised:
        _export(
            _exporter(transport, clock, poll=10, timeout=60),
            "SV_1",
            ExportWindow(None, "2024-02-01T00:00:00Z"),
        )
    assert not isinstance(
        raised.value, SplittableExportError
    )  # a shorter window would wait as long
    assert clock.now <= 60
    assert all(call[0] != "GET" or "file" not in call[1] for call in transport.calls)


def test_poll_errors_stop_polling() -> None:
    class GoneTransport(FakeTransport):
        def request_result(
            self, method: str, path: str, body: Mapping[str, Any] | None = None
        ) -> Mapping[str, Any]:
            if method == "GET":
                raise RuntimeError("HTTP 404")
            return super().request_result(method, path, body)

    transport = GoneTransport([])
    with pytest.raises(RuntimeError):
        _export(
            _exporter(transport, FakeClock()), "SV_1", ExportWindow(None, "2024-02-01T00:00:00Z")
        )


def test_reads_raw_ndjson_when_not_compressed() -> None:
    spool = io.BytesIO(NDJSON)
    assert [r["responseId"] for r in read_export_file(spool)] == ["R_1", "R_2"]


def test_reads_every_member_of_a_split_export() -> None:
    first = b"".join(json.dumps({"responseId": f"R_{i}"}).encode() + b"\n" for i in range(3))
    second = b"{}\n" + json.dumps({"responseId": "R_9"}).encode()  # no final newline
    spool = io.BytesIO(_zip({"survey_1.ndjson": first, "survey_2.ndjson": second}))
    assert [r["responseId"] for r in read_export_file(spool)] == ["R_0", "R_1", "R_2", "R_9"]


def test_spool_is_a_removed_temporary_file(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    transport = FakeTransport(
        [{"status": "complete", "fileId": "F-def"}], _zip({"s.ndjson": NDJSON})
    )
    exporter = _exporter(transport, FakeClock())
    with exporter.fetch("SV_1", ExportWindow(None, "2024-02-01T00:00:00Z")) as spool:
        next(read_export_file(spool))
        assert list(tmp_path.iterdir()) == []  # unlinked at once (TemporaryFile), never in the CWD
