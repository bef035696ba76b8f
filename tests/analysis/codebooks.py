"""Codebooks in the export's formats (contract sections 2-4), written from wave definitions, for
tests of data that carry their own metadata."""

import json

import pandas as pd

from analysis.metadata import CODEBOOK_COLUMNS, FIELDWORK_COLUMNS, OLD_CODEBOOK_COLUMNS
from questionnaires.codebook import answer_labels

NON_ITEM_ROWS = (("response_id", "id", "text"), ("wave", "wave", "integer"),
                 ("region", "derived", "category"), ("duration_s", "paradata", "number"))


def codebook_rows(wave, *, year=None, versions=None, norms_version=None) -> list[dict]:
    """The contract's 15-column rows of ``wave`` (as strings), relabelled ``year`` and with the
    wording versions of ``versions`` (code -> version) replaced."""
    year = wave.year if year is None else year
    versions = versions or {}
    rows = [dict.fromkeys(CODEBOOK_COLUMNS, "") | {"wave": str(year), "item": code, "kind": kind,
                                                   "type": typ, "text_zh": code, "text_en": code,
                                                   "norms_version": norms_version
                                                   or wave.norms_version}
            for code, kind, typ in NON_ITEM_ROWS]
    for page in wave.pages:
        for item in page.items:
            c = item.condition
            rows.append({
                "wave": str(year), "item": item.code, "norm": item.norm or "",
                "kind": item.kind,
                "type": "category" if item.kind == "demographic" else "integer",
                "wording_version": str(versions.get(item.code, item.wording_version)),
                "text_zh": item.text["zh"], "text_en": item.text["en"],
                "answer_labels_zh": answer_labels(item, "zh"),
                "answer_labels_en": answer_labels(item, "en"),
                "not_applicable_code": "9" if item.not_applicable else "",
                "show_if": (f"{c.item} in {{{','.join(map(str, sorted(c.values)))}}}"
                            if c else ""),
                "page": page.key, "grid": "1" if page.grid else "0",
                "norms_version": norms_version or wave.norms_version})
    return rows


def write_codebook(path, rows, old=False) -> None:
    columns = OLD_CODEBOOK_COLUMNS if old else CODEBOOK_COLUMNS
    pd.DataFrame(rows)[list(columns)].to_csv(path, index=False)


def fieldwork_rows(years) -> list[dict]:
    return [{"wave": str(y), "opens": f"{y}-06-05", "closes": f"{y}-08-31",
             "first_response_date": f"{y}-06-05", "last_response_date": f"{y}-08-30",
             "started": "120", "completed": "100", "broken_off": "20",
             "completion_rate": "0.8333333333333334"} for y in years]


def write_parquet_with_metadata(data: pd.DataFrame, path, codebook, fieldwork=None) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(data, preserve_index=False)
    meta = dict(table.schema.metadata or {})
    meta[b"ten_norms.codebook"] = json.dumps(codebook, ensure_ascii=False).encode()
    if fieldwork is not None:
        meta[b"ten_norms.fieldwork"] = json.dumps(fieldwork).encode()
    pq.write_table(table.replace_schema_metadata(meta), path)


def write_fieldwork(path, rows) -> None:
    pd.DataFrame(rows)[list(FIELDWORK_COLUMNS)].to_csv(path, index=False)
