"""QualtricsAPI (the PyPI library many users start with) exporting one survey into pandas, against a sandbox.

Run by the throughput scenario as a subprocess, like the tap: ``python -m bench.qualtricsapi_client BASE_URL
TOKEN SURVEY_ID``. The library builds ``https://{data_center}.qualtrics.com`` itself, so its one URL helper is
pointed at the sandbox; everything else (CSV export, polling, download into memory, ``pandas.read_csv``)
is the library's own code. Prints one JSON line: the rows and columns of the data frame.
"""

from __future__ import annotations

import json
import sys
from typing import Any


def main(argv: list[str]) -> int:
    base_url, token, survey_id = argv
    from QualtricsAPI.Setup import Credentials  # noqa: PLC0415 - optional: the peers extra
    from QualtricsAPI.Survey import Responses  # noqa: PLC0415

    def header_setup(
        self: Any, content_type: bool = False, xm: bool = True, path: str | None = None
    ) -> tuple[dict[str, str], str]:
        del self, xm
        header = {"x-api-token": token}
        if content_type:
            header["Content-Type"] = "application/json"
        return header, f"{base_url}/API/v3/{path}"

    Credentials.header_setup = header_setup  # type: ignore[method-assign]
    Credentials().qualtrics_api_credentials(token=token, data_center="sandbox")
    frame = Responses().get_survey_responses(survey=survey_id)
    # CSV exports carry two header rows under the column names (question text, import IDs)
    print(json.dumps({"rows": int(frame.shape[0]) - 2, "columns": int(frame.shape[1])}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
