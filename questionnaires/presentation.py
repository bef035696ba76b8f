"""Randomised order: a page's items (``randomise: items``) and an item's options
(``randomise_options: true``) in an order of their own per response.

The order follows from the response's random ``seed`` (stored on the response, drawn from the
system's random source, so it says nothing about the person) and the page key or item code,
through ``random.Random`` seeded with a text: the same response always sees the same order, on
every device and after every restart, and the export writes the order each response saw
(``order__PAGE``, ``order__ITEM``: the codes in the order shown), so analysis can look for
order effects.  Without a seed (responses started before orders were recorded) everything is
in the order the wave defines.
"""

from __future__ import annotations

import random
from dataclasses import replace

from .model import Item, Option, Page, Text, Wave

ORDER_PREFIX = "order__"
SEED_LIMIT = 2**31  # a seed fits a signed 32-bit integer column


def new_seed() -> int:
    """A response's seed: random, from the operating system's source (not from the time, the
    address or anything else about the respondent)."""
    return random.SystemRandom().randrange(SEED_LIMIT)


def _shuffled(sequence, seed: int, salt: str) -> tuple:
    shuffled = list(sequence)
    random.Random(f"{seed}:{salt}").shuffle(shuffled)
    return tuple(shuffled)


def item_order(page: Page, seed: int | None) -> tuple[Item, ...]:
    """The page's items in the order this response sees them (hidden ones included)."""
    if not page.randomise or seed is None:
        return page.items
    return _shuffled(page.items, seed, f"page:{page.key}")


def option_order(item: Item, seed: int | None) -> tuple[Option, ...]:
    """The item's options in this response's order (only lists of unordered options are
    shuffled, and they have no "not applicable")."""
    if not item.randomise_options or seed is None:
        return item.options
    return _shuffled(item.options, seed, f"options:{item.code}")


def presented(item: Item, seed: int | None) -> Item:
    """``item`` with its options in this response's order."""
    if not item.randomise_options or seed is None:
        return item
    return replace(item, options=option_order(item, seed))


def order_columns(wave: Wave) -> list[tuple[str, Page | Item]]:
    """``(column, page or item)`` for every randomised page, then every item whose options
    are shuffled, in questionnaire order."""
    pages = [(f"{ORDER_PREFIX}{page.key}", page) for page in wave.pages if page.randomise]
    items = [(f"{ORDER_PREFIX}{item.code}", item) for item in wave.items.values()
             if item.randomise_options]
    return pages + items


def order_cells(columns: list[tuple[str, Page | Item]], seed: int | None) -> dict[str, str | None]:
    """The order a response saw, per column of :func:`order_columns`: item codes or option
    codes separated by spaces (``'N01_P2 N01_A1 N01_P1'``, ``'3 1 2'``); None without a
    seed."""
    if seed is None:
        return dict.fromkeys(column for column, _ in columns)
    cells: dict[str, str | None] = {}
    for column, shown in columns:
        if isinstance(shown, Page):
            cells[column] = " ".join(item.code for item in item_order(shown, seed))
        else:
            cells[column] = " ".join(str(o.code) for o in option_order(shown, seed))
    return cells


def order_texts(shown: Page | Item) -> Text:
    """The codebook's description of an order column."""
    if isinstance(shown, Page):
        return {"zh": f"第{shown.key}页题目的呈现顺序（按显示顺序列出题目编号；"
                      "隐藏的题目也在其位置上）",
                "en": f"Order in which page {shown.key}'s items were shown (item codes in the "
                      "order shown; items hidden by a condition keep their place)"}
    return {"zh": f"{shown.code}选项的呈现顺序（按显示顺序列出选项代码）",
            "en": f"Order in which {shown.code}'s options were shown (option codes in the order "
                  "shown)"}
