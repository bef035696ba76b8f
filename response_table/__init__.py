"""The responses table (docs/architecture.md §2) built from the survey database: one row per
completed response of a wave, in the export's columns, with its codebook and fieldwork summary.

Shared by the app's export (survey/export.py writes the table to files) and the analysis
(``survey-analysis … --database URL``, analysis/database.py, analyses it without a file), so the
SQL, the pivot of the answers into columns, the cells of each question type, the quality flags
and the codebook exist once.  Neither Flask nor the app's models are imported: the tables are
read with SQLAlchemy Core (:mod:`response_table.schema`).

Modules (imported on use: this package's import loads nothing heavy):

* :mod:`response_table.columns`: the answers read in bulk and pivoted per item; cells per type;
* :mod:`response_table.layout`: a wave's columns, cells and flags (:class:`Layout`);
* :mod:`response_table.queries`: waves, organisations, questionnaires, batches, tables;
* :mod:`response_table.fieldwork`: the fieldwork summary;
* :mod:`response_table.memory`: whole waves in memory, for the analysis;
* :mod:`response_table.connect`: database URLs and read-only engines.
"""

from .errors import TableError

__all__ = ["TableError"]
