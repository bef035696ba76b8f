"""The responses table as column batches: the database's answer rows read in bulk, pivoted with
NumPy into one array per item, and turned into the export's Arrow columns.

Reading.  The answers are one row per (response, item), about 44 per response, so a million
responses are 44 million rows: a Python object per row costs more than all the rest of the
export.  Neither back end hands rows to Python one by one here: each batch of responses (keyset
pagination on the response id, ``id > last ORDER BY id LIMIT n``) and its answers (the primary
key range of those ids) arrive as one CSV text, parsed by Arrow's CSV reader.  PostgreSQL writes
that text itself (``COPY (SELECT …) TO STDOUT``, through psycopg's copy); SQLite builds it with
``group_concat`` over the rows (one value per batch).  Both queries run in one read transaction
(a snapshot: REPEATABLE READ on PostgreSQL, SQLite's read transaction in WAL mode), so a response
completed during the export is either wholly in it or not at all.

Pivoting.  The item of every answer row becomes an index into the wave's items
(``pyarrow.compute.index_in``) and its response a row position (``numpy.searchsorted`` on the
batch's ids; answers of unfinished responses in the id range fall out here); one scatter fills an
(items x responses) code matrix.  The cells of each question type come from that matrix through
:data:`COLUMN_CELLS` (one vectorised rule per type); a type without one is exported through its own
``export_cells``, value by value, so a new type is always right and only slower until it has a
rule here.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from questionnaires.question_types.select_multiple import option_column

# the Arrow type of every codebook type (the Parquet file's column types)
ARROW_TYPES = {"text": pa.string(), "integer": pa.int64(), "category": pa.string(),
               "timestamp": pa.timestamp("ms", tz="UTC"), "number": pa.float64(),
               "flag": pa.int8()}

# the columns read per response; the query selects exactly these, in this order
RESPONSE_FIELDS = {"id": pa.int64(), "public_id": pa.string(), "started_at": pa.timestamp("us"),
                   "submitted_at": pa.timestamp("us"), "duration_s": pa.int64(),
                   "presentation_seed": pa.int64()}
ANSWER_FIELDS = {"response_id": pa.int64(), "item": pa.string(), "code": pa.int64(),
                 "value": pa.string()}


# --------------------------------------------------------------------------- reading


def _parse_csv(data: bytes, fields: dict[str, pa.DataType]) -> pa.Table:
    """CSV text without a header (NULL = an unquoted empty field, as COPY writes it)."""
    if not data:
        return pa.table({name: pa.array([], type=kind) for name, kind in fields.items()})
    return pacsv.read_csv(
        pa.py_buffer(data),
        read_options=pacsv.ReadOptions(column_names=list(fields)),
        parse_options=pacsv.ParseOptions(newlines_in_values=True),
        convert_options=pacsv.ConvertOptions(column_types=fields, strings_can_be_null=True,
                                             quoted_strings_can_be_null=False))


def _responses_query(wave_id: int, after: int, limit: int) -> str:
    return (f"SELECT {', '.join(RESPONSE_FIELDS)} FROM responses "
            f"WHERE wave_id = {int(wave_id)} AND status = 'complete' AND id > {int(after)} "
            f"ORDER BY id LIMIT {int(limit)}")


def _id_range(first: int, last: int) -> str:
    """The answers of a batch: a range of the primary key (response_id, item)."""
    return f"response_id >= {int(first)} AND response_id <= {int(last)}"


def _csv_line(fields: dict[str, pa.DataType]) -> str:
    """SQL for one CSV line of a row: text quoted, NULL an empty field."""
    def field(name: str, kind: pa.DataType) -> str:
        if pa.types.is_string(kind):
            return f"coalesce('\"' || replace({name}, '\"', '\"\"') || '\"', '')"
        return f"coalesce(CAST({name} AS TEXT), '')"

    return " || ',' || ".join(field(name, kind) for name, kind in fields.items())


class _PostgresSource:
    """PostgreSQL writes each batch as one CSV text (``string_agg``): one value per query,
    where ``COPY … TO STDOUT`` would hand Python one message per row."""

    def __init__(self, connection):
        self.connection = connection

    def _csv(self, query: str, fields) -> bytes:
        return self.connection.exec_driver_sql(
            f"SELECT convert_to(string_agg({_csv_line(fields)}, E'\\n'), 'UTF8') "
            f"FROM ({query}) AS q").scalar() or b""

    def responses(self, wave_id: int, after: int, limit: int) -> pa.Table:
        return _parse_csv(self._csv(_responses_query(wave_id, after, limit), RESPONSE_FIELDS),
                          RESPONSE_FIELDS)

    def answers(self, first: int, last: int) -> pa.Table:
        query = f"SELECT response_id, item, code, value FROM answers WHERE {_id_range(first, last)}"
        return _parse_csv(self._csv(query, ANSWER_FIELDS), ANSWER_FIELDS)


class _SqliteSource:
    """SQLite concatenates each response's answers as ``item,code`` lines (``group_concat``):
    one row per response instead of one per answer; the few text answers (``code`` NULL) come
    as rows of their own."""

    def __init__(self, connection):
        self.connection = connection

    def responses(self, wave_id: int, after: int, limit: int) -> pa.Table:
        text = self.connection.exec_driver_sql(
            f"SELECT group_concat({_csv_line(RESPONSE_FIELDS)}, char(10)) "
            f"FROM ({_responses_query(wave_id, after, limit)}) AS q").scalar()
        return _parse_csv(text.encode("utf-8") if text else b"", RESPONSE_FIELDS)

    def answers(self, first: int, last: int) -> pa.Table:
        where = _id_range(first, last)
        grouped = self.connection.exec_driver_sql(
            f"SELECT response_id, group_concat(item || ',' || ifnull(code, ''), char(10)) "
            f"FROM answers WHERE {where} GROUP BY response_id").all()
        ids, lines = zip(*grouped, strict=True) if grouped else ((), ())
        response_ids = np.repeat(np.array(ids, dtype=np.int64),
                                 [text.count("\n") + 1 for text in lines])
        coded = _parse_csv("\n".join(lines).encode("utf-8"),
                           {"item": pa.string(), "code": pa.int64()})
        answers = pa.table({"response_id": pa.array(response_ids, type=pa.int64()),
                            "item": coded["item"], "code": coded["code"],
                            "value": pa.nulls(coded.num_rows, type=pa.string())})
        if not coded["code"].null_count:
            return answers
        # text answers (decimals, free texts) come as rows of their own
        texts = self.connection.exec_driver_sql(
            f"SELECT response_id, item, value FROM answers WHERE {where} AND code IS NULL"
        ).all()
        rid, item, value = zip(*texts, strict=True) if texts else ((), (), ())
        return pa.concat_tables([
            answers.filter(pc.is_valid(answers["code"])),
            pa.table({"response_id": pa.array(rid, type=pa.int64()),
                      "item": pa.array(item, type=pa.string()),
                      "code": pa.nulls(len(texts), type=pa.int64()),
                      "value": pa.array(value, type=pa.string())})])


SOURCES = {"postgresql": _PostgresSource, "sqlite": _SqliteSource}


@dataclass
class ResponseBatch:
    """One batch of completed responses: their fields (Arrow columns, in id order) and their
    answers pivoted to one array per stored item."""

    responses: pa.Table
    items: list[str]
    codes: np.ndarray  # (items, responses) int64; meaningful where ``present``
    present: np.ndarray  # (items, responses) bool: the item has an answer
    values: dict[int, np.ndarray]  # item index -> object array of text answers (str or None)

    def __len__(self) -> int:
        return self.responses.num_rows


def response_batches(connection, wave_id: int, items: list[str], size: int, after: int = 0
                     ) -> Iterator[ResponseBatch]:
    """The wave's completed responses in id order, ``size`` at a time, from the first id
    above ``after`` (the keyset: the API's pages start where the previous page ended)."""
    if connection.dialect.name not in SOURCES:
        raise ValueError(f"no bulk reader for {connection.dialect.name}")
    source = SOURCES[connection.dialect.name](connection)
    item_set = pa.array(items, type=pa.string())
    while True:
        responses = source.responses(wave_id, after, size)
        if responses.num_rows == 0:
            return
        ids = responses["id"].to_numpy()
        answers = source.answers(int(ids[0]), int(ids[-1]))
        yield _pivot(responses, ids, items, item_set, answers)
        after = int(ids[-1])
        if responses.num_rows < size:
            return


def _pivot(responses: pa.Table, ids: np.ndarray, items: list[str], item_set: pa.Array,
           answers: pa.Table) -> ResponseBatch:
    n, k = len(ids), len(items)
    item_index = pc.fill_null(pc.index_in(answers["item"], value_set=item_set), -1).to_numpy()
    response_ids = answers["response_id"].to_numpy()
    position = np.minimum(np.searchsorted(ids, response_ids), n - 1)
    # answers of responses outside the batch (unfinished ones between its ids) and of items
    # the wave does not have are dropped
    keep = (item_index >= 0) & (ids[position] == response_ids)
    item_index, position = item_index[keep], position[keep]
    code = answers["code"].filter(pa.array(keep))
    has_code = code.is_valid().to_numpy(zero_copy_only=False)
    codes = np.zeros((k, n), dtype=np.int64)
    present = np.zeros((k, n), dtype=bool)
    codes[item_index[has_code], position[has_code]] = pc.fill_null(code, 0).to_numpy()[has_code]
    present[item_index[has_code], position[has_code]] = True
    values: dict[int, np.ndarray] = {}
    if not has_code.all():  # text answers (decimals, free texts): few items
        text = answers["value"].filter(pa.array(keep)).to_numpy(zero_copy_only=False)
        with_text = ~has_code & np.array([v is not None for v in text], dtype=bool)
        for index in np.unique(item_index[with_text]):
            chosen = with_text & (item_index == index)
            column = np.full(n, None, dtype=object)
            column[position[chosen]] = text[chosen]
            values[int(index)] = column
            present[index, position[chosen]] = True
    return ResponseBatch(responses=responses, items=items, codes=codes, present=present,
                         values=values)


class read_ahead:  # noqa: N801 - used as a generator
    """Run ``source`` (a generator) in a thread of its own, one item ahead of the consumer;
    its exception reaches the consumer.  ``close()`` stops it (the thread finishes the item it
    is reading, then closes ``source``, releasing its connection)."""

    _DONE = object()

    def __init__(self, source: Iterator):
        self.source = source
        self.items: queue.Queue = queue.Queue(maxsize=1)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="export-reader", daemon=True)
        self.thread.start()

    def _put(self, item) -> bool:
        while not self.stop.is_set():
            try:
                self.items.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        try:
            for item in self.source:
                if not self._put((item, None)):
                    break
            self._put((self._DONE, None))
        except BaseException as error:  # handed to the consumer
            self._put((self._DONE, error))
        finally:
            self.source.close()

    def __iter__(self):
        return self

    def __next__(self):
        item, error = self.items.get()
        if error is not None:
            raise error
        if item is self._DONE:
            raise StopIteration
        return item

    def close(self) -> None:
        self.stop.set()
        self.thread.join()


# --------------------------------------------------------------------------- cells


@dataclass
class ItemAnswers:
    """One item's answers in a batch: integer codes where ``present`` and ``text`` is None,
    else the text answers (an object array, None where not answered)."""

    codes: np.ndarray
    present: np.ndarray
    text: np.ndarray | None

    def stored(self, row: int):
        """The stored answer of one row, as the question type's ``export_cells`` takes it."""
        if not self.present[row]:
            return None
        return self.text[row] if self.text is not None else int(self.codes[row])


def _masked_codes(answers: ItemAnswers) -> pa.Array:
    return pa.array(answers.codes, mask=~answers.present, type=pa.int64())


def _code_cells(item, answers: ItemAnswers) -> dict[str, pa.Array]:
    return {item.code: _masked_codes(answers)}


def _single_choice_cells(item, answers: ItemAnswers) -> dict[str, pa.Array]:
    if item.kind != "demographic":
        return _code_cells(item, answers)
    # a demographic exports its option's category value; a code without an option is empty
    options = item.all_options
    index = pc.index_in(_masked_codes(answers), value_set=pa.array([o.code for o in options],
                                                                    type=pa.int64()))
    return {item.code: pc.take(pa.array([o.value for o in options], type=pa.string()), index)}


def _select_multiple_cells(item, answers: ItemAnswers) -> dict[str, pa.Array]:
    return {option_column(item.code, o.code):
            pa.array((answers.codes >> o.code) & 1, mask=~answers.present, type=pa.int64())
            for o in item.options}


def _text_of(answers: ItemAnswers) -> pa.Array:
    if answers.text is None:
        return pa.nulls(len(answers.present), type=pa.string())
    return pa.array(answers.text, type=pa.string())


def _decimal_cells(item, answers: ItemAnswers) -> dict[str, pa.Array]:
    # Arrow parses decimal text correctly rounded, as Python's float() does
    return {item.code: pc.cast(_text_of(answers), pa.float64())}


def _text_cells(item, answers: ItemAnswers) -> dict[str, pa.Array]:
    return {item.code: _text_of(answers)}


COLUMN_CELLS: dict[str, Callable[..., dict[str, pa.Array]]] = {
    "scale": _code_cells,
    "single_choice": _single_choice_cells,
    "select_multiple": _select_multiple_cells,
    "integer": _code_cells,
    "decimal": _decimal_cells,
    "text": _text_cells,
}


def cells_one_by_one(item, kind, answers: ItemAnswers, types: dict[str, str]
                     ) -> dict[str, pa.Array]:
    """A type without a vectorised rule: its own ``export_cells`` per value."""
    columns: dict[str, list] = {c: [] for c in kind.export_columns(item)}
    for row in range(len(answers.present)):
        for column, value in kind.export_cells(item, answers.stored(row)).items():
            columns[column].append(value)
    return {c: pa.array(v, type=ARROW_TYPES[types[c]]) for c, v in columns.items()}
