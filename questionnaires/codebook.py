"""The codebook: one row per item of a wave, for the export and the analysis."""

from __future__ import annotations

from .model import Item, Wave

CODEBOOK_COLUMNS = (
    "wave",
    "item",
    "norm",
    "kind",
    "wording_version",
    "text_zh",
    "text_en",
    "answer_labels_zh",
    "answer_labels_en",
)


def answer_labels(item: Item, lang: str) -> str:
    """``'1=从不; 2=很少; …; 9=不适用'``.

    Demographic items list ``value=label`` instead (``'male=男; female=女'``), because the export
    writes their category value, not the stored integer code.
    """
    parts = []
    for option in item.all_options:
        key = option.value if item.kind == "demographic" and option.value else option.code
        parts.append(f"{key}={option.label[lang]}")
    return "; ".join(parts)


def codebook_rows(wave: Wave) -> list[dict]:
    """One dict per item of ``wave`` in questionnaire order, keys exactly :data:`CODEBOOK_COLUMNS`.

    ``norm`` is '' for items that belong to no norm (demographics, the attention check).
    """
    return [
        {
            "wave": wave.year,
            "item": item.code,
            "norm": item.norm or "",
            "kind": item.kind,
            "wording_version": item.wording_version,
            "text_zh": item.text["zh"],
            "text_en": item.text["en"],
            "answer_labels_zh": answer_labels(item, "zh"),
            "answer_labels_en": answer_labels(item, "en"),
        }
        for item in wave.items.values()
    ]
