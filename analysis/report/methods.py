"""The methods section's and the questionnaire annex's content from the plan's inputs: the
weighting targets with their sources and caveats (the margins file) and every questionnaire item
(the wave definitions). Called by :func:`analysis.report.findings.build_findings`."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from analysis.report.model import QuestionnaireItem, WeightTarget


def questionnaire_items(definitions: dict, years) -> tuple[QuestionnaireItem, ...]:
    """Every item the waves asked, once per code and wording version, in the questionnaire
    order of the latest wave asking it, with the waves that asked that version."""
    versions: dict[tuple[str, int | None], list[int]] = {}
    latest: dict[tuple[str, int | None], object] = {}
    order: dict[tuple[str, int | None], tuple[int, int]] = {}
    for y in sorted(years):
        for position, item in enumerate(definitions[y].items.values()):
            key = (item.code, item.wording_version)
            versions.setdefault(key, []).append(y)
            latest[key] = item
            order[key] = (position, -y)
    out = []
    for key in sorted(versions, key=lambda k: (order[k], k[1] or 0)):
        item = latest[key]
        answers = tuple((int(o.code), dict(o.label)) for o in item.options if o.code is not None)
        na = dict(item.not_applicable.label) if item.not_applicable is not None else None
        out.append(QuestionnaireItem(item.code, item.kind, item.norm or None,
                                     item.wording_version, tuple(versions[key]), dict(item.text),
                                     answers, na))
    return tuple(out)


def targets_with_sources(path: Path, margins, sources: dict[str, str]
                          ) -> tuple[WeightTarget, ...]:
    """Each margin category as a share of its variable's total, with its source and caveat in
    both languages from the file's ``source_zh``/``source_en``/``caveat_zh``/``caveat_en``
    columns (else the old ``source_note`` column, else the plan's ``margin_sources``)."""
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    raw = raw[raw.get("variable", pd.Series(dtype=str)).astype(str).str.strip() != ""]

    def column(name):
        if name not in raw.columns:
            return {}
        return {(r["variable"].strip(), r["category"].strip()): r[name].strip()
                for _i, r in raw.iterrows()}

    notes = column("source_note")
    text = {lang: column(f"source_{lang}") for lang in ("zh", "en")}
    caveats = {lang: column(f"caveat_{lang}") for lang in ("zh", "en")}
    table = margins.table if hasattr(margins, "table") else raw
    table = table.copy()
    table["target"] = pd.to_numeric(table["target"])
    out = []
    for variable, rows in table.groupby("variable", sort=False):
        total = rows["target"].sum()
        for r in rows.itertuples(index=False):
            key = (variable, str(r.category))
            out.append(WeightTarget(
                variable, str(r.category), float(r.target / total),
                notes.get(key) or sources.get(variable, ""),
                source_text={k: v[key] for k, v in text.items() if v.get(key)},
                caveat={k: v[key] for k, v in caveats.items() if v.get(key)}))
    return tuple(out)
