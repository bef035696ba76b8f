"""`survey-analysis report DATA --plan PLAN.yaml --out report.pdf [--format html] [--language en]
[--engine dask [--scheduler tcp://HOST:8786] [--workers N]]`

Runs the analysis the plan asks for on DATA (the responses table, CSV or Parquet; or a folder
or glob of Parquet files, on the Dask engine) and writes the trend report as PDF (default) or as
one self-contained HTML page. A progress bar shows on a terminal; the CJK font used and the page
count go to stderr when done.
"""

from __future__ import annotations

import sys
import time

from analysis.errors import AnalysisInputError


def register(subparsers) -> None:
    from analysis.commands.engine import engine_parent
    from analysis.commands.options import add_database_options

    p = subparsers.add_parser(
        "report", parents=[engine_parent()],
        help="write the PDF (or HTML) trend report",
        description="Write a trend report (title page, executive summary, charts per norm, "
                    "indicator table, methodology annex) from DATA and a report plan. "
                    "See analysis/report/example_plan.yaml.",
    )
    p.add_argument("data", metavar="DATA", nargs="?",
                   help="responses table (.csv or .parquet), or a folder or glob of Parquet "
                        "files (Dask engine); or none, with --database")
    p.add_argument("--plan", required=True, metavar="PLAN.yaml", help="report plan (YAML)")
    p.add_argument("--out", required=True, metavar="FILE", help="report file to write")
    p.add_argument("--format", choices=("pdf", "html"), default=None,
                   help="pdf or html (default: from the --out suffix, else pdf)")
    p.add_argument("--language", choices=("zh", "en"), default=None,
                   help="report language (default: the plan's, else zh)")
    add_database_options(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from analysis.commands.engine import uses_dask
    from analysis.commands.options import data_sources
    from analysis.report.fonts import NoCJKFontError, find_cjk_font
    from analysis.report.plan import load_plan

    sources = data_sources(args)
    if len(sources) > 1:
        raise AnalysisInputError("--include-children pools several organisations' "
                                 "surveys, which the report does not; write one report per "
                                 "organisation")
    (data,) = sources
    started = time.perf_counter()
    plan = load_plan(args.plan).with_language(args.language)
    try:
        font = find_cjk_font()
    except NoCJKFontError as exc:
        raise AnalysisInputError(str(exc)) from None

    with _progress() as bar:
        from analysis.report.render import write_report

        if uses_dask(args):
            findings, note = _findings_on_dask(args, plan, bar.step)
        else:
            from analysis.report.findings import build_findings

            findings, note = build_findings(data, plan, progress=bar.step), ""
        rendered = write_report(findings, args.out, lang=plan.language, fmt=args.format,
                                sections=plan.sections, progress=bar.step)
    pages = f", {rendered.pages} pages" if rendered.pages else ""
    print(f"wrote {rendered.path} ({rendered.format}, {rendered.language}{pages}) in "
          f"{time.perf_counter() - started:.1f} s; CJK font: {font.describe()}{note}",
          file=sys.stderr)
    return 0


def _findings_on_dask(args, plan, step):
    """The findings from a folder or glob of Parquet files on the Dask engine, and a note
    naming the files and workers."""
    from analysis.commands.engine import dask_client
    from analysis.report.findings import build_findings
    from analysis.report.partitioned import DaskEngine

    with dask_client(args) as client:
        engine = DaskEngine(args.data, plan, client)
        return build_findings(args.data, plan, progress=step, engine=engine), \
            f"; {engine.note()}"


class _progress:
    """A tqdm bar on a terminal (stderr), silent otherwise; ``step(label)`` advances it."""

    def __enter__(self):
        from tqdm import tqdm

        self._bar = tqdm(total=None, unit="step", desc="report", file=sys.stderr,
                         disable=not sys.stderr.isatty(), leave=False)
        return self

    def step(self, label: str) -> None:
        self._bar.set_postfix_str(label, refresh=False)
        self._bar.update(1)

    def __exit__(self, *exc):
        self._bar.close()
        return False
