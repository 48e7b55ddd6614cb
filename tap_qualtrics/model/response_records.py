"""A ``responses`` record from one exported response: typed metadata columns plus the answers as JSON objects.

Two ways to build the same record:

* :func:`response_record` from a parsed response (a dict), for every consumer;
* :func:`raw_response_record` from the export's line itself, for a record that goes straight to the tap's
  writer: only the metadata is parsed, and ``values``, ``labels`` and ``displayed_values`` stay the
  exported JSON text (:class:`msgspec.Raw`), written back as they came (:func:`with_parsed_answers` parses
  what the record's answer rows read). Parsing a wide response into
  dicts and writing it again is most of what a sync costs; the answers need neither. It declines (``None``)
  every line the parsed path would change (text that is not UTF-8, escapes that are normalised, a
  shape that is not the export's), so both give the same record.
"""

from __future__ import annotations

import decimal
import re
from collections.abc import Callable, Mapping
from typing import Any

import msgspec

from tap_qualtrics.model.coerce import to_bool, to_int, to_number, to_text
from tap_qualtrics.model.timestamps import normalize_or_none

# values key -> (column, conversion). Keys follow the JSON/NDJSON export.
METADATA_COLUMNS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "recordedDate": ("recorded_date", normalize_or_none),
    "startDate": ("start_date", normalize_or_none),
    "endDate": ("end_date", normalize_or_none),
    "status": ("status", to_int),
    "finished": ("finished", to_bool),
    "progress": ("progress", to_int),
    "duration": ("duration", to_int),
    "ipAddress": ("ip_address", to_text),
    "locationLatitude": ("location_latitude", to_number),
    "locationLongitude": ("location_longitude", to_number),
    "distributionChannel": ("distribution_channel", to_text),
    "userLanguage": ("user_language", to_text),
    "recipientEmail": ("recipient_email", to_text),
    "recipientFirstName": ("recipient_first_name", to_text),
    "recipientLastName": ("recipient_last_name", to_text),
    "externalReference": ("external_reference", to_text),
    "externalDataReference": ("external_reference", to_text),
}
LAST_MODIFIED_KEYS = ("LastModifiedDate", "lastModifiedDate", "_lastModifiedDate")
RECORD_ID_KEY = "_recordId"
_PLAIN_UTC_SECONDS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


def _timestamp(value: Any) -> str | None:
    """:func:`normalize_or_none`, with a shortcut for the export's usual ``YYYY-MM-DDTHH:MM:SSZ`` form."""
    if (
        type(value) is str
        and len(value) == len("2024-01-02T03:04:05Z")
        and _PLAIN_UTC_SECONDS.fullmatch(value)
    ):
        return value[:19] + ".000000Z"
    return normalize_or_none(value)


# Per-record work done once: the record's initial shape and the conversions (dates take the shortcut).
_RECORD_TEMPLATE: dict[str, Any] = {column: None for column, _ in METADATA_COLUMNS.values()}
_CONVERSIONS: tuple[tuple[str, str, Callable[[Any], Any]], ...] = tuple(
    (key, column, _timestamp if convert is normalize_or_none else convert)
    for key, (column, convert) in METADATA_COLUMNS.items()
)


def response_record(
    survey_id: str, exported: Mapping[str, Any], untyped: list[str] | None = None
) -> dict[str, Any] | None:
    """One ``responses`` record: typed metadata columns plus the answers as JSON objects.

    A metadata value that does not fit its column (``duration`` past a 64-bit integer, a date that is not
    one) is loaded as NULL and its key added to ``untyped``; the exported value stays in ``values``."""
    values = exported.get("values")
    values = values if isinstance(values, dict) else {}
    response_id = exported.get("responseId") or values.get(RECORD_ID_KEY)
    if not response_id:
        return None
    record = _metadata_record(survey_id, str(response_id), values, untyped)
    last_modified = next((values[key] for key in LAST_MODIFIED_KEYS if values.get(key)), None)
    record["last_modified_date"] = _timestamp(last_modified) or record["recorded_date"]
    labels = exported.get("labels")
    displayed_fields = exported.get("displayedFields")
    displayed_values = exported.get("displayedValues")
    record["values"] = values
    record["labels"] = labels if isinstance(labels, dict) else None
    record["displayed_fields"] = (
        list(map(str, displayed_fields)) if isinstance(displayed_fields, list) else None
    )
    record["displayed_values"] = displayed_values if isinstance(displayed_values, dict) else None
    return record


def _metadata_record(
    survey_id: str, response_id: str, values: Mapping[str, Any], untyped: list[str] | None
) -> dict[str, Any]:
    record = _RECORD_TEMPLATE.copy()  # the metadata columns first, in METADATA_COLUMNS order
    record["survey_id"] = survey_id
    record["response_id"] = response_id
    for key, column, convert in _CONVERSIONS:
        if key in values:
            raw = values[key]
            record[column] = typed = convert(raw)
            if typed is None and untyped is not None and raw is not None and raw != "":
                untyped.append(key)
    return record


#: how every exported response is parsed: numbers exact (Decimal), so none loses digits
EXACT_JSON = msgspec.json.Decoder(float_hook=decimal.Decimal)


# -- from the exported line ---------------------------------------------------------------------------------

_ABSENT = msgspec.Raw()  # an empty Raw: the key was not in the line


class _ExportedResponse(msgspec.Struct, rename="camel"):
    """One exported line, its parts kept as JSON text (``displayedFields`` is short and converted)."""

    response_id: Any = None
    values: msgspec.Raw = _ABSENT
    labels: msgspec.Raw = _ABSENT
    displayed_fields: list[str] | msgspec.UnsetType | None = msgspec.UNSET
    displayed_values: msgspec.Raw = _ABSENT


#: the keys of ``values`` a record's columns are read from (and only those are parsed)
_METADATA_KEYS = (*METADATA_COLUMNS, *LAST_MODIFIED_KEYS, RECORD_ID_KEY)
_ExportedMetadata = msgspec.defstruct(
    "_ExportedMetadata",
    [
        (f"key_{index}", Any, msgspec.field(default=msgspec.UNSET, name=key))
        for index, key in enumerate(_METADATA_KEYS)
    ],
)
_RESPONSE_DECODER = msgspec.json.Decoder(_ExportedResponse)
# numbers exact, as the parsed path reads them
_METADATA_DECODER = msgspec.json.Decoder(_ExportedMetadata, float_hook=decimal.Decimal)
_OPEN_OBJECT = ord("{")
_BACKSLASH = ord("\\")


def raw_response_record(
    survey_id: str, line: bytes, untyped: list[str] | None = None
) -> dict[str, Any] | None:
    """:func:`response_record` of the parsed ``line``, with ``values``, ``labels`` and ``displayed_values``
    kept as the line's JSON text; ``None`` when only the parsed path can build it (the line is then parsed
    and built that way)."""
    if any(escapes_to_normalize(line)):
        return None
    try:
        line.decode()  # the raw parts are written as they came: they must be UTF-8
        exported = _RESPONSE_DECODER.decode(line)
        values = exported.values
        if not _is_object(values):
            return None
        metadata = _METADATA_DECODER.decode(values)
    except (UnicodeDecodeError, msgspec.DecodeError):  # ValidationError is a DecodeError
        return None
    present = {
        key: value
        for key, value in zip(_METADATA_KEYS, msgspec.structs.astuple(metadata), strict=True)
        if value is not msgspec.UNSET
    }
    response_id = exported.response_id or present.get(RECORD_ID_KEY)
    if not response_id:
        return None
    record = _metadata_record(survey_id, str(response_id), present, untyped)
    last_modified = next((present[key] for key in LAST_MODIFIED_KEYS if present.get(key)), None)
    record["last_modified_date"] = _timestamp(last_modified) or record["recorded_date"]
    record["values"] = values
    record["labels"] = exported.labels if _is_object(exported.labels) else None
    fields = exported.displayed_fields
    record["displayed_fields"] = None if fields is msgspec.UNSET else fields
    shown = exported.displayed_values
    record["displayed_values"] = shown if _is_object(shown) else None
    return record


def with_parsed_answers(record: Mapping[str, Any]) -> dict[str, Any]:
    """A record of :func:`raw_response_record` as the answer rows read it: ``values`` and ``labels``
    parsed, numbers exact, as the parsed path reads them (the lines it accepts need no normalising);
    ``displayed_values``, which no answer row reads, stays text."""
    parsed = dict(record)
    for key in ("values", "labels"):
        part = record[key]
        if isinstance(part, msgspec.Raw):
            parsed[key] = EXACT_JSON.decode(part)
    return parsed


def _is_object(raw: msgspec.Raw) -> bool:
    return len(raw) > 0 and memoryview(raw)[0] == _OPEN_OBJECT


def escapes_to_normalize(line: bytes) -> tuple[bool, bool]:
    r"""Whether the JSON text holds a ``\u0000`` escape (NUL, which PostgreSQL refuses) and a ``\ud...``
    escape (perhaps half of a UTF-16 pair): the escapes the export reader rewrites. A loop over the line's
    few backslashes: a substring search for ``\u`` costs twenty times more on a wide response."""
    nul = surrogate = False
    index = line.find(_BACKSLASH)
    while index >= 0:
        escape = line[index + 1 : index + 6]
        if escape[:1] == b"u":
            nul = nul or escape == b"u0000"
            surrogate = surrogate or escape[1:2] in (b"d", b"D")
        index = line.find(_BACKSLASH, index + 2 if escape[:1] == b"\\" else index + 1)
    return nul, surrogate
