"""PDF and HTML trend reports (``survey-analysis report``).

Three layers, each replaceable on its own:

* :mod:`analysis.report.plan` reads the report plan (YAML).
* :mod:`analysis.report.findings` runs the analysis package on DATA + plan and fills the
  findings model (:mod:`analysis.report.model`): the only module that computes numbers, in
  memory or, for a folder of Parquet files, through the Dask engine
  (:mod:`analysis.report.partitioned`).
* :mod:`analysis.report.render` turns the model into HTML/PDF from ``analysis/report/templates/``
  (charts: :mod:`analysis.report.charts`; strings: :mod:`analysis.report.i18n`;
  CJK font: :mod:`analysis.report.fonts`).
"""
