"""The benchmark reads the tap's output through a pipe: every RECORD counted, the checked keys kept."""

from __future__ import annotations

from bench.taprun import OutputTally


def test_counts_records_and_keeps_keys_whatever_the_key_order() -> None:
    tally = OutputTally({"responses": ("survey_id", "response_id")})
    tally.read(
        [
            b'{"type":"SCHEMA","stream":"responses","schema":{}}\n',
            (
                b'{"type":"RECORD","stream":"responses","record":{"survey_id":"SV_1","response_id":"R_1",'
                b'"values":{"response_id":"not this one"}}}\n'
            ),
            b'{"stream":"responses","type":"RECORD","record":{"response_id":"R_2","survey_id":"SV_2"}}\n',
            b'{"type":"RECORD","stream":"responses","record":{"survey_id":"SV_3","response_id":7}}\n',
            b'{"type":"STATE","value":{"note":"RECORD"}}\n',
            b'{"type":"RECORD","stream":"response_answers","record":{"response_id":"R_1"}}\n',
        ]
    )
    assert tally.counts == {"responses": 3, "response_answers": 1}
    assert tally.values == {
        ("responses", "survey_id"): ["SV_1", "SV_2", "SV_3"],
        ("responses", "response_id"): ["R_1", "R_2", 7],
    }
    assert tally.last_state == b'{"type":"STATE","value":{"note":"RECORD"}}'


def test_runs_of_rows_whose_keys_are_not_kept_are_counted_exactly() -> None:
    tally = OutputTally({"responses": ("response_id",)})
    answer = b'{"type":"RECORD","stream":"response_answers","record":{"response_id":"R_%d"}}\n'
    embedded = b'{"type":"RECORD","stream":"response_embedded_data","record":{}}\n'
    lines = []
    for n in range(5):
        lines += [answer % n] * (n + 2) + [embedded] * n
        lines.append(
            b'{"type":"RECORD","stream":"responses","record":{"response_id":"R_%d"}}\n' % n
        )
        lines.append(b'{"type":"STATE","value":{}}\n')
    tally.read(lines)
    assert tally.counts == {"response_answers": 20, "response_embedded_data": 10, "responses": 5}
    assert tally.values == {("responses", "response_id"): [f"R_{n}" for n in range(5)]}
    assert tally.state_messages == 5
