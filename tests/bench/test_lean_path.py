"""The fast record path writes exactly the messages the SDK's default path writes, and valid ones."""

from __future__ import annotations

import copy
import io
import json
from contextlib import redirect_stdout
from pathlib import Path

import jsonschema
from singer_sdk import Stream
from support.tap import sandbox, token_config

from bench.sandbox_export import download_export
from tap_qualtrics.exports.engine import read_export_file
from tap_qualtrics.model.response_records import response_record
from tap_qualtrics.output import sdk_path_is_identity
from tap_qualtrics.tap import TapQualtrics


def _written(write) -> list[dict]:
    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    with redirect_stdout(out):
        write()
        out.flush()
    return [json.loads(line) for line in out.buffer.getvalue().decode().splitlines()]


def _normalized(message: dict) -> str:
    extracted = message.pop("time_extracted")
    assert extracted.endswith("Z")
    return json.dumps(message, separators=(",", ":"))  # key order kept, non-ASCII escaped alike


def test_lean_messages_equal_the_sdk_default_path(tmp_path: Path) -> None:
    with sandbox(seed=33, surveys=2, responses=40, questions=40) as handle:
        config = token_config(handle)
        records = []
        for survey_id in handle.truth()["surveys"]:
            download_export(handle, survey_id, tmp_path / f"{survey_id}.zip")
            with (tmp_path / f"{survey_id}.zip").open("rb") as spool:
                records += [response_record(survey_id, r) for r in read_export_file(spool)]
    tap = TapQualtrics(config=config)
    stream = tap.streams["responses"]
    assert sdk_path_is_identity(stream)
    assert stream.record_writer is tap.message_writer
    assert len(records) > 40

    def lean() -> None:
        for record in copy.deepcopy(records):
            stream._write_record_message(record)
        tap.message_writer.flush()

    def sdk() -> None:
        for record in copy.deepcopy(records):
            Stream._write_record_message(stream, record)
        tap.message_writer.flush()

    lean_messages, sdk_messages = _written(lean), _written(sdk)
    validator = jsonschema.Draft7Validator(stream.schema, format_checker=jsonschema.FormatChecker())
    for message in lean_messages:
        validator.validate(message["record"])
    assert [_normalized(m) for m in lean_messages] == [_normalized(m) for m in sdk_messages]


def test_maps_and_deselection_fall_back_to_the_sdk_path() -> None:
    with sandbox(seed=34, surveys=1, responses=2) as handle:
        config = token_config(handle)
    mapped = TapQualtrics(
        config={**config, "stream_maps": {"responses": {"ip_address": "__NULL__"}}}
    )
    assert not sdk_path_is_identity(mapped.streams["responses"])
    assert mapped.streams["responses"].record_writer is None
    catalog = TapQualtrics(config=config).catalog_dict
    for entry in catalog["streams"]:
        for metadata in entry["metadata"]:
            if metadata["breadcrumb"] == ["properties", "ip_address"]:
                metadata["metadata"]["selected"] = False
    deselected = TapQualtrics(config=config, catalog=catalog)
    assert not sdk_path_is_identity(deselected.streams["responses"])
    assert sdk_path_is_identity(TapQualtrics(config=config).streams["responses"])
