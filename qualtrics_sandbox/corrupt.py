r"""Bad export files on purpose: the ``corrupt_export`` fault knob (``POST /_sandbox/faults``).

Only what a client downloads changes; the cached file on disk and the truth stay as they were. The
response-level modes touch ONE response of the ndjson member: the first one, or with the knob
``corrupt_export_index`` = n the n-th (0-based; the last one when the member holds fewer), so a test
knows exactly what to expect (``target_response_id`` says which). A failing mode at n > 0 lets a client
read n good responses before the bad one:

- ``truncated``: the first half of the zip's bytes (the HTTP transfer itself is complete and correct);
- ``bad_zip``: a readable zip directory whose compressed member data is garbled in the middle;
- ``non_utf8``: a value ``QID_nonutf8`` holding the raw bytes ``caf\xe9 \xff`` (Latin-1, not UTF-8);
- ``nul_text``: a value ``QID_nul`` holding ``"a\u0000b"`` (a JSON-escaped NUL character);
- ``missing_metadata``: ``responseId``, ``_recordId`` and every date removed from the response;
- ``huge_text``: a value ``QID_huge`` holding 2,000,000 characters;
- ``unknown_question_type``: a value ``QID_unknown`` holding an object no question type produces;
- ``lone_surrogate``: a value ``QID_half`` holding ``"\ud83d tail"`` (half of a UTF-16 pair, as a producer
  that cut an emoji in two writes it);
- ``control_character``: a value ``QID_ctrl`` holding a raw (unescaped) control character, ``a\x01b``;
- ``huge_duration``: ``duration`` as the text ``"99999999999999999999"`` (past a 64-bit integer).
"""

from __future__ import annotations

import io
import json
import zipfile

MODES = (
    "truncated",
    "bad_zip",
    "non_utf8",
    "nul_text",
    "missing_metadata",
    "huge_text",
    "unknown_question_type",
    "lone_surrogate",
    "control_character",
    "huge_duration",
)
HALF_PAIR = "\\ud83d tail"  # as written in the file: a JSON escape of a lone high surrogate
HUGE_DURATION = "99999999999999999999"
HUGE_TEXT_CHARS = 2_000_000
_MARK = "@@sandbox-non-utf8@@"
_DATE_KEYS = ("recordedDate", "startDate", "endDate", "LastModifiedDate", "lastModifiedDate")


def target_response_id(data: bytes, index: int = 0) -> str | None:
    """The response a response-level mode changes (the ``index``-th of the member, else the last), if
    any."""
    lines = _member_lines(data)
    target = _target_line(lines, index)
    return None if target is None else str(json.loads(lines[target]).get("responseId"))


def corrupt(data: bytes, mode: str, index: int = 0) -> bytes:
    """The served bytes of a zipped ndjson export under ``mode`` (response-level modes change the
    ``index``-th response, or the last one when there are fewer)."""
    if mode == "truncated":
        return data[: len(data) // 2]
    if mode == "bad_zip":
        return _garble_member(data)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        (info,) = archive.infolist()
        lines = archive.read(info).split(b"\n")
    target = _target_line(lines, index)
    if target is not None:
        lines[target] = _change_response(json.loads(lines[target]), mode)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(info.filename, b"\n".join(lines))
    return out.getvalue()


def _target_line(lines: list[bytes], index: int) -> int | None:
    """Position in ``lines`` of the ``index``-th response (0-based; the last one when fewer), if any."""
    responses = [n for n, line in enumerate(lines) if line.strip() not in (b"", b"{}")]
    if not responses:
        return None
    return responses[min(index, len(responses) - 1)]


def _member_lines(data: bytes) -> list[bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        (info,) = archive.infolist()
        return archive.read(info).split(b"\n")


def _change_response(response: dict, mode: str) -> bytes:
    values = response.setdefault("values", {})
    if mode == "non_utf8":
        values["QID_nonutf8"] = _MARK
        return json.dumps(response).encode().replace(_MARK.encode(), b"caf\xe9 \xff")
    if mode == "lone_surrogate":
        values["QID_half"] = _MARK
        return json.dumps(response).encode().replace(_MARK.encode(), HALF_PAIR.encode())
    if mode == "control_character":
        values["QID_ctrl"] = _MARK
        return json.dumps(response).encode().replace(_MARK.encode(), b"a\x01b")
    if mode == "nul_text":
        values["QID_nul"] = "a\x00b"
    elif mode == "missing_metadata":
        response.pop("responseId", None)
        values.pop("_recordId", None)
        for key in _DATE_KEYS:
            values.pop(key, None)
    elif mode == "huge_text":
        values["QID_huge"] = "x" * HUGE_TEXT_CHARS
    elif mode == "huge_duration":
        values["duration"] = HUGE_DURATION
    elif mode == "unknown_question_type":
        values["QID_unknown"] = {"hotSpot3D": [[1, 2, 3]], "weight": 0.5}
    else:  # pragma: no cover - validated by faults.py
        raise ValueError(mode)
    return json.dumps(response).encode()


def _garble_member(data: bytes) -> bytes:
    """Overwrite the middle of the first member's compressed data, keeping every header intact."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        info = archive.infolist()[0]
    header = info.header_offset
    name_len = int.from_bytes(data[header + 26 : header + 28], "little")
    extra_len = int.from_bytes(data[header + 28 : header + 30], "little")
    start = header + 30 + name_len + extra_len
    middle = start + info.compress_size // 2
    garbage = bytes((i * 151 + 7) % 256 for i in range(min(64, max(info.compress_size // 4, 1))))
    return data[:middle] + garbage + data[middle + len(garbage) :]
