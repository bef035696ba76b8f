"""The fieldwork summary (contract section 4) beside the data file or in the Parquet metadata;
absent: not available, never invented; malformed: one line naming file, column, value, row."""

from __future__ import annotations

import json
from datetime import date

import pandas as pd
import pytest

from analysis.errors import AnalysisInputError
from analysis.report.fieldwork import FIELDWORK_COLUMNS, read_fieldwork

ROWS = [{"wave": "2025", "opens": "2025-01-01", "closes": "2025-12-31",
         "first_response_date": "2025-01-02", "last_response_date": "2025-12-30",
         "started": "5200", "completed": "4680", "broken_off": "520", "completion_rate": "0.9"},
        {"wave": "2026", "opens": "2026-01-01", "closes": "2026-12-31",
         "first_response_date": "2026-01-03", "last_response_date": "2026-11-20",
         "started": "0", "completed": "0", "broken_off": "0", "completion_rate": ""}]


def _write_csv(path, rows):
    pd.DataFrame(rows, columns=list(FIELDWORK_COLUMNS)).to_csv(path, index=False)


def test_csv_beside_the_data_file(tmp_path):
    data = tmp_path / "responses.csv"
    data.write_text("wave\n2025\n", encoding="utf-8")
    _write_csv(tmp_path / "responses.fieldwork.csv", ROWS)
    summary = read_fieldwork(data)
    assert summary[2025].started == 5200 and summary[2025].completed == 4680
    assert summary[2025].broken_off == 520 and summary[2025].completion_rate == 0.9
    assert summary[2025].first_response == date(2025, 1, 2)
    assert summary[2026].completion_rate is None


def test_parquet_metadata(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({"wave": [2025]})
    table = table.replace_schema_metadata({"ten_norms.fieldwork": json.dumps(ROWS)})
    path = tmp_path / "responses.parquet"
    pq.write_table(table, path)
    assert read_fieldwork(path)[2025].completed == 4680


def test_absent_is_none(tmp_path):
    data = tmp_path / "responses.csv"
    data.write_text("wave\n2025\n", encoding="utf-8")
    assert read_fieldwork(data) is None


@pytest.mark.parametrize("column, value, message", [
    ("started", "many", "row 1, field 'started': value 'many' is not an integer"),
    ("broken_off", "10", "column 'broken_off': value '10' in row 1 is not started - completed"),
    ("opens", "2025/01/01", "row 1, field 'opens': value '2025/01/01' is not an ISO date"),
    ("completion_rate", "1.5", "column 'completion_rate': value '1.5' in row 1 is not between"),
])
def test_bad_values_name_file_column_value_row(tmp_path, column, value, message):
    data = tmp_path / "x.csv"
    bad = [dict(ROWS[0], **{column: value})]
    _write_csv(tmp_path / "x.fieldwork.csv", bad)
    with pytest.raises(AnalysisInputError, match="x.fieldwork.csv: " + message.replace(
            "(", r"\(")):
        read_fieldwork(data)
