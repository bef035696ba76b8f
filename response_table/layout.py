"""How a wave's completed responses become the responses table (docs/architecture.md §2): the
columns are the wave's codebook rows (:func:`questionnaires.codebook_rows`, in order), each
question type's cells come from the pivoted answers (:mod:`response_table.columns`), ``region``
from ``province``, the minute of the times, the ``order__`` columns of randomised order, and
the quality flags from :func:`analysis.quality.flag_quality` (the rule the analysis applies).

Both the export (survey/export.py, which writes the table to files) and the analysis's database
reader (analysis/database.py, which analyses it in memory) build the table here, so the two
carry the same columns, values and codebook.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from analysis.quality import FLAG_COLUMNS, flag_quality
from questionnaires import Wave as WaveDefinition
from questionnaires import codebook_rows, province_regions
from questionnaires.presentation import order_cells, order_columns
from questionnaires.question_types import QuestionType, question_type

from .columns import ARROW_TYPES, COLUMN_CELLS, ItemAnswers, ResponseBatch, cells_one_by_one
from .errors import TableError

__all__ = ["Layout"]


class Layout:
    """Which columns the wave's table has (its codebook rows, in order) and how an answer code
    becomes a cell."""

    def __init__(self, wave: WaveDefinition):
        self.wave = wave
        self.codebook = codebook_rows(wave)
        self.columns = [r["item"] for r in self.codebook]
        self.types = {r["item"]: r["type"] for r in self.codebook}
        self.questions = [(item, question_type(item)) for item in wave.items.values()]
        self.demographic_codes = [i.code for i in wave.items.values() if i.kind == "demographic"]
        # the quality rules read the answer codes of choice items and only whether the other
        # questions were answered
        self.choice_codes = [i.code for i, kind in self.questions
                             if kind.choice and i.kind != "demographic"]
        self.category_columns = [c for c in self.columns if self.types[c] == "category"]
        if tuple(c for c in self.columns if self.types[c] == "flag") != FLAG_COLUMNS:
            raise TableError("the codebook's flag columns differ from analysis.quality's")
        self.regions = province_regions()  # once: a lookup per row re-read the file's path
        self.orders = order_columns(wave)  # randomised pages and options: the order shown
        self.median_duration: float | None = None
        self.items = [item.code for item, _ in self.questions]
        self.schema = {c: ARROW_TYPES[self.types[c]] for c in self.columns}

    def table(self, batch: ResponseBatch) -> pa.Table:
        """A batch of responses as the table's columns (a ``pyarrow.Table``), flagged."""
        n = len(batch)
        columns: dict[str, pa.Array] = {
            "response_id": batch.responses["public_id"],
            "wave": pa.array(np.full(n, self.wave.year, dtype=np.int64))}
        answered: dict[str, np.ndarray] = {}
        for index, (item, kind) in enumerate(self.questions):
            answers = ItemAnswers(batch.codes[index], batch.present[index],
                                  batch.values.get(index))
            rule = COLUMN_CELLS.get(kind.name)
            # "not applicable" (9) is an answer and is exported as its code (docs/web.md)
            columns.update(rule(item, answers) if rule is not None else
                           cells_one_by_one(item, kind, answers, self.types))
            answered[item.code] = (answers.present if _answered_is_stored(kind) else
                                   np.array([kind.answered(answers.stored(r))
                                             for r in range(n)], dtype=bool))
        if "province" in columns:
            # a province without a region mapping (another province list) leaves region empty
            provinces = pa.array(list(self.regions), type=pa.string())
            columns["region"] = pc.take(pa.array(list(self.regions.values()), type=pa.string()),
                                        pc.index_in(columns["province"], value_set=provinces))
        for name in ("started_at", "submitted_at"):
            # the minute only, even for a row stored before times were cut at completion
            moment = pc.floor_temporal(batch.responses[name], unit="minute")
            columns[name] = pc.cast(moment, ARROW_TYPES["timestamp"])
        if self.orders:
            columns.update(self.shown_orders(batch.responses["presentation_seed"]))
        columns["duration_s"] = pc.cast(batch.responses["duration_s"], pa.float64())
        columns.update(self.flags(batch, columns["duration_s"], answered))
        return pa.table([columns[c] if c in columns else pa.nulls(n, type=self.schema[c])
                         for c in self.columns], names=self.columns)

    def shown_orders(self, seeds: pa.Array) -> dict[str, pa.Array]:
        """The ``order__`` columns: the order each response saw its randomised pages and
        options in, from its presentation seed (per response in Python; only waves with
        randomised order have such columns)."""
        rows = [order_cells(self.orders, seed) for seed in seeds.to_pylist()]
        return {column: pa.array([row[column] for row in rows], type=self.schema[column])
                for column, _ in self.orders}

    def flags(self, batch: ResponseBatch, duration: pa.Array, answered: dict[str, np.ndarray]
              ) -> dict[str, pa.Array]:
        """The quality-flag columns of a batch (the analysis's rule, on the same inputs)."""
        frame = {"duration_s": duration.to_numpy(zero_copy_only=False)}
        position = {code: i for i, code in enumerate(self.items)}
        for code in self.choice_codes:
            index = position[code]
            frame[code] = np.where(batch.present[index], batch.codes[index], np.nan)
        for code in self.items:  # answered or not, for the speeder floor
            if code not in frame:
                frame[code] = np.where(answered[code], 1.0, np.nan)
        flags = flag_quality(pd.DataFrame(frame), self.wave,
                             median_duration=self.median_duration)
        return {c: pa.array(flags[c].to_numpy(dtype=np.int8), type=pa.int8())
                for c in FLAG_COLUMNS}


def _answered_is_stored(kind) -> bool:
    """Whether the type counts every stored answer as answered (the base rule)."""
    return type(kind).answered is QuestionType.answered
