"""The codebook: one row per column of a wave's responses table, in the table's column order.

The codebook is the single definition of the export's columns: the web export writes exactly the
columns :func:`export_columns` lists (``[row["item"] for row in codebook_rows(wave)]``), typed as
the rows' ``type`` says, so the file and its description cannot drift apart.

Every value of a row is a string, exactly as the codebook CSV carries it (``"2026"``, ``"1"``,
``""``).  The CSV writer neutralises spreadsheet formulas; these rows are the raw values (the
Parquet export embeds them unchanged).
"""

from __future__ import annotations

from collections.abc import Iterable

from .loader import load_item_bank
from .model import KINDS, Condition, Item, Page, Text, Wave
from .presentation import order_columns, order_texts
from .question_types import question_type
from .reference import REGIONS

CODEBOOK_COLUMNS = (
    "wave",
    "item",
    "norm",
    "kind",
    "type",
    "wording_version",
    "text_zh",
    "text_en",
    "answer_labels_zh",
    "answer_labels_en",
    "not_applicable_code",
    "show_if",
    "page",
    "grid",
    "norms_version",
)

# the codebook before every column was described (readers still accept it)
CODEBOOK_COLUMNS_V1 = CODEBOOK_COLUMNS[:4] + CODEBOOK_COLUMNS[5:10]

# the weighting variables every export carries, asked or not, in this order; a wave's other
# demographic items follow them.  `region` is derived from `province`, never asked.
STANDARD_DEMOGRAPHICS = ("sex", "age_group", "province", "region", "urban_rural", "education")

# `kind` of a column -> its `type` (questionnaire items not listed here are integer answer codes)
COLUMN_TYPES = {
    "id": "text",
    "wave": "integer",
    "demographic": "category",
    "derived": "category",
    "timestamp": "timestamp",
    "paradata": "number",
    "flag": "flag",
}
ANSWER_TYPE = "integer"

REGION_LABELS: dict[str, Text] = {
    "east": {"zh": "东部", "en": "East"},
    "central": {"zh": "中部", "en": "Central"},
    "west": {"zh": "西部", "en": "West"},
    "northeast": {"zh": "东北", "en": "Northeast"},
}
FLAG_LABELS: dict[str, Text] = {"0": {"zh": "否", "en": "no"}, "1": {"zh": "是", "en": "yes"}}


def _t(zh: str, en: str) -> Text:
    return {"zh": zh, "en": en}


# descriptions of the columns that are not questions: (kind, text)
_LEADING = {
    "response_id": ("id", _t("应答编号（随机生成，不含任何个人信息）",
                             "Response id (random; identifies no person)")),
    "wave": ("wave", _t("调查轮次（年份）", "Survey wave (year)")),
}
_REGION = ("derived", _t("地区（国家统计局东部、中部、西部、东北划分，由常住省份推出）",
                         "Region (NBS east, central, west, northeast), derived from the province"))
_TRAILING = {
    "started_at": ("timestamp", _t("开始作答时间（同意参加之时，UTC，ISO 8601）",
                                   "When the respondent started (gave consent), UTC, ISO 8601")),
    "submitted_at": ("timestamp", _t("提交问卷时间（UTC，ISO 8601）",
                                     "When the questionnaire was submitted, UTC, ISO 8601")),
    "duration_s": ("paradata", _t("作答时长（秒）：提交时间减开始时间",
                                  "Duration in seconds: submitted_at minus started_at")),
}
FLAG_COLUMNS = ("flag_speeder", "flag_straightliner", "flag_attention")


def _flag_texts(wave: Wave) -> dict[str, Text]:
    seconds = f"{wave.quality.min_seconds_per_item:g}"
    return {
        "flag_speeder": _t(
            f"速答：作答时长不到本轮中位数的0.3倍，或平均每道已答题不到{seconds}秒",
            f"Speeder: duration under 0.3 × the wave's median, or under {seconds} s per "
            "answered question"),
        "flag_straightliner": _t(
            "直线作答：每个矩阵题页上的回答都完全相同",
            "Straight-liner: the same answer throughout every grid page"),
        "flag_attention": _t(
            "注意力检查未通过：注意力检查题的回答不是要求的选项",
            "Failed attention check: the attention item was not answered as asked"),
    }


def answer_labels(item: Item, lang: str) -> str:
    """``'1=从不; 2=很少; …; 9=不适用'``.

    Demographic items list ``value=label`` instead (``'male=男; female=女'``), because the export
    writes their category value, not the stored integer code.
    """
    return _join(
        (option.value if item.kind == "demographic" and option.value else option.code,
         option.label[lang])
        for option in item.all_options
    )


def _join(pairs: Iterable[tuple[object, str]]) -> str:
    return "; ".join(f"{key}={label}" for key, label in pairs)


def show_if(item: Item) -> str:
    """The item's condition: the one-question form as ``N05_P1 in {2,3,4,5}`` (as codebooks
    always wrote it), any other in the condition grammar (``N04_P3 != 9 and sex = 2``,
    questionnaires/conditions.py); '' when it is always shown."""
    condition = item.condition
    if condition is None:
        return ""
    if isinstance(condition, Condition):
        values = ",".join(str(v) for v in sorted(condition.values))
        return f"{condition.item} in {{{values}}}"
    return condition.text()


def _row(wave: Wave, item: str, kind: str, text: Text, **fields: str) -> dict[str, str]:
    row = dict.fromkeys(CODEBOOK_COLUMNS, "")
    row.update(wave=str(wave.year), item=item, kind=kind,
               type=COLUMN_TYPES.get(kind, ANSWER_TYPE), text_zh=text["zh"], text_en=text["en"],
               norms_version=wave.norms_version, **fields)
    return row


def _item_rows(wave: Wave, item: Item, page: Page | None) -> list[dict[str, str]]:
    """A questionnaire item's rows (one per export column its question type writes); ``page``
    None for a standard demographic the wave does not ask (its labels come from the item bank;
    no wording version, page or grid)."""
    asked = page is not None
    row = _row(
        wave, item.code, item.kind, item.text,
        norm=item.norm or "",
        wording_version=str(item.wording_version) if asked else "",
        answer_labels_zh=answer_labels(item, "zh"),
        answer_labels_en=answer_labels(item, "en"),
        not_applicable_code=str(item.not_applicable.code) if item.not_applicable else "",
        show_if=show_if(item),
        page=page.key if asked else "",
        grid=("1" if page.grid else "0") if asked else "",
    )
    return question_type(item).codebook_rows(item, row)


def _unasked_row(wave: Wave, column: str) -> dict[str, str]:
    """A weighting column the wave does not ask (always empty): texts and labels from the
    shipped item bank, which defines all of them."""
    definition = load_item_bank().get(column)
    if definition is None:  # a bank without it: the column is still there, and still empty
        return _row(wave, column, "demographic", _t(column, column))
    return _item_rows(wave, definition.to_item(), None)[0]


def _labelled(wave: Wave, column: str, kind: str, text: Text,
              labels: dict[str, Text]) -> dict[str, str]:
    return _row(wave, column, kind, text,
                answer_labels_zh=_join((k, v["zh"]) for k, v in labels.items()),
                answer_labels_en=_join((k, v["en"]) for k, v in labels.items()))


def codebook_rows(wave: Wave) -> list[dict[str, str]]:
    """One dict per column of ``wave``'s responses table, in column order; keys exactly
    :data:`CODEBOOK_COLUMNS`, values strings (see docs/questionnaires.md, "The codebook")."""
    page_of = {item.code: page for page in wave.pages for item in page.items}
    demographics = [i for i in wave.items.values() if i.kind == "demographic"]
    asked = {i.code: i for i in demographics}
    rows = [_row(wave, column, kind, text) for column, (kind, text) in _LEADING.items()]
    for column in STANDARD_DEMOGRAPHICS:
        if column == "region":
            rows.append(_labelled(wave, column, *_REGION,
                                  {r: REGION_LABELS[r] for r in REGIONS}))
        elif column in asked:
            rows += _item_rows(wave, asked[column], page_of[column])
        else:  # every export has the weighting columns, empty when the wave does not ask them
            rows.append(_unasked_row(wave, column))
    for item in demographics:
        if item.code not in STANDARD_DEMOGRAPHICS:
            rows += _item_rows(wave, item, page_of[item.code])
    for item in wave.items.values():
        if item.kind != "demographic":
            rows += _item_rows(wave, item, page_of[item.code])
    # the order each response saw randomised pages and options in (questionnaires/presentation.py)
    rows += [dict(_row(wave, column, "paradata", order_texts(shown)), type="text")
             for column, shown in order_columns(wave)]
    rows += [_row(wave, column, kind, text) for column, (kind, text) in _TRAILING.items()]
    flag_texts = _flag_texts(wave)
    rows += [_labelled(wave, column, "flag", flag_texts[column], FLAG_LABELS)
             for column in FLAG_COLUMNS]
    return rows


def export_columns(wave: Wave) -> list[str]:
    """The responses table's columns for ``wave``, in order (one per codebook row)."""
    return [row["item"] for row in codebook_rows(wave)]


def category_values(row: dict[str, str]) -> list[str]:
    """The codes or category values a codebook row's answer labels list (``'male'``, ``'9'``)."""
    labels = row["answer_labels_en"]
    return [part.split("=", 1)[0] for part in labels.split("; ")] if labels else []


__all__ = [
    "CODEBOOK_COLUMNS",
    "KINDS",
    "CODEBOOK_COLUMNS_V1",
    "FLAG_COLUMNS",
    "REGION_LABELS",
    "STANDARD_DEMOGRAPHICS",
    "answer_labels",
    "category_values",
    "codebook_rows",
    "export_columns",
    "show_if",
]
