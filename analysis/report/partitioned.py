"""The report's numbers on the Dask engine (:mod:`analysis.dask_engine`), for a folder or glob
of Parquet files: ``survey-analysis report DATA_DIR --engine dask``.

:class:`DaskEngine` has the methods of :class:`analysis.report.findings.MemoryEngine`, and
:func:`analysis.report.findings.build_findings` makes the same findings from either. Every
number is one the engine computes from partition sums, then reduced in NumPy as in memory:

* norm scores, gaps, the overall index and their subgroup rows: contrasts of the item means
  with their covariances within domain groups
  (:func:`analysis.commands.estimate_partitioned.target_estimate_partitioned`), with the items'
  design effects (with replacement) from the same passes;
* weighting: the raking report and Kish's design effect, effective n and weight range from the
  cell table the engine rakes on; n per wave and the quality exclusions from the cleaning;
* answer distributions: each answer's share is the mean of its indicator over the rows
  answering 1-5 (and "not applicable" over those answering 1-5 or 9), estimated as means of
  indicator columns (``estimate_partitioned(..., indicators=...)``) with their logit intervals
  (:func:`analysis.distributions.share_rows`);
* subgroup tests: the practice scores' domain means with their covariance across the groups of
  one variable (``covariance="by"``), then the in-memory Wald test and pairwise differences;
* Cronbach's alpha: complete-case sums and cross-products of each scale's items, added up over
  the files (:func:`analysis.indicators.complete_case_moments`); first and last response dates:
  each file's extremes;
* changes and linear trends: ``compare`` and ``trend`` on the engine
  (:mod:`analysis.commands.waves_partitioned`).

What the engine does not compute is refused in one line naming the report section: quality
flags it would have to compute (``exclude_flagged: true`` on data without the export's flag
columns), and the designs :func:`analysis.commands.estimate_partitioned.refuse_design` names.
"""

from __future__ import annotations

from concurrent.futures import Future
from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pandas as pd

from analysis.errors import AnalysisInputError
from analysis.report.findings import WaveNumbers, fieldwork_date


def _wave_rows(data: pd.DataFrame, scales: list[tuple[str, ...]]) -> dict:
    """One file's first and last response dates and each scale's complete-case moments."""
    from analysis.indicators import complete_case_moments

    moments = []
    for items in scales:
        if all(c in data.columns for c in items):
            moments.append(complete_case_moments(data, items))
        else:  # a file without one of the items has no complete case
            moments.append((0, np.zeros(len(items)), np.zeros((len(items), len(items)))))
    return {"started": fieldwork_date(data, "started_at", min),
            "ended": fieldwork_date(data, "submitted_at", max), "moments": moments}


class DaskEngine:
    """The report's numbers from the Parquet files of ``data`` on the open Dask ``client``."""

    def __init__(self, data, plan, client):
        from analysis.commands.estimate_partitioned import partitioned_files, wave_metadata
        from analysis.commands.waves_partitioned import wave_files
        from analysis.io import response_columns
        from analysis.quality import FLAG_COLUMNS
        from analysis.report.fieldwork import summaries_from_table

        self.data = str(data)
        self.client = client
        self.files = partitioned_files(self.data)
        keep_flagged = not plan.exclude_flagged
        self.args = SimpleNamespace(
            data=[self.data], keep_flagged=keep_flagged, recode_invalid=False,
            common_items=plan.common_items, method=plan.adjustment, alpha=plan.alpha,
            proportion=None, level=0.95, out="report", client=client)
        columns = [response_columns(f) for f in self.files]
        if not keep_flagged:
            at = next(((f, c) for f, have in zip(self.files, columns, strict=True)
                       for c in FLAG_COLUMNS if c not in have), None)
            if at is not None:
                raise AnalysisInputError(
                    f"{at[0]}: no column '{at[1]}': the report's quality exclusions "
                    "(plan exclude_flagged: true) use the export's flag columns on the Dask "
                    "engine, which does not compute them (the speeder rule needs each wave's "
                    "median duration); set exclude_flagged: false, or report from one file in "
                    "memory")
        self.columns = set().union(*columns)
        self.by_wave = wave_files(self.files, None, self.data)
        self.waves = sorted(int(y) for y in self.by_wave)
        self.meta = wave_metadata(self.files[0], self.waves, self.args)
        self.definitions = self.meta.definitions
        self.fieldwork = summaries_from_table(self.meta.fieldwork, str(self.files[0]))
        self._options: dict = {}
        self._alpha_scales: list = []
        self._moments: list = []

    def refuse_free_text(self, columns) -> None:
        from analysis.pipeline import refuse_free_text

        refuse_free_text(self.data, [self.definitions[y] for y in self.waves], columns)

    def check_design(self, spec) -> None:
        from analysis.commands.estimate_partitioned import refuse_design

        try:
            refuse_design(spec)
        except AnalysisInputError as exc:
            raise AnalysisInputError(f"plan design: {exc}") from None

    def submit(self, fn, *args) -> Future:
        """``fn(*args)`` now (the cluster runs its tasks in parallel), as a done future."""
        future: Future = Future()
        try:
            future.set_result(fn(*args))
        except AnalysisInputError as exc:
            future.set_exception(exc)
        return future

    def close(self) -> None:
        """The client belongs to the command, which closes it."""

    def note(self) -> str:
        from analysis.commands.estimate_partitioned import engine_note

        return engine_note(self.files, self.client)

    def wave(self, y: int, spec, by, current: bool) -> WaveNumbers:
        """Wave ``y``'s numbers (domain rows by ``by``); for the ``current`` wave also the
        moments of Cronbach's alphas (:meth:`current`)."""
        from analysis.commands.estimate_partitioned import (
            answered_frame,
            design_options,
            target_estimate_partitioned,
        )
        from analysis.dask_engine import map_partitions
        from analysis.indicators import (
            _combination,
            indicator_estimates,
            norm_targets,
            scales_in_data,
            wave_scales,
        )

        files = self.by_wave[y]
        options = design_options(spec, spec.margins, y, self.meta.cleanings[y], self.data)
        self._options[y] = options
        scales, dropped = scales_in_data(wave_scales(self.definitions[y]),
                                         answered_frame(files, y, self.meta, []))
        targets = norm_targets(scales)
        estimate, result = target_estimate_partitioned(files, targets, scales, by=by,
                                                       options=options, deff="replace")
        scores = indicator_estimates(estimate, _combination(targets, scales), scales, dropped)
        items = result.estimate.table
        alpha_scales = [s for s in scales if len(s.items) >= 2] if current else []
        rows = map_partitions(files, _wave_rows,
                              ["started_at", "submitted_at",
                               *(c for s in alpha_scales for c in s.items)],
                              y, self.meta.cleanings[y], ([tuple(s.items) for s in alpha_scales],))
        if current:
            self._alpha_scales = alpha_scales
            self._moments = [tuple(map(sum, zip(*m, strict=True)))
                             for m in zip(*(r["moments"] for r in rows), strict=True)]
        started = [r["started"] for r in rows if r["started"] is not None]
        ended = [r["ended"] for r in rows if r["ended"] is not None]
        excluded = {k: v for k, v in result.excluded.items() if k not in ("total", "rows")}
        return WaveNumbers(
            scores=scores, deff=items.loc[items["by"] == "", "deff"].to_numpy(float),
            weighting=result.weighting, weights=result.diagnostics,
            n_responses=result.excluded.get("rows", result.rows), n_analysed=result.rows,
            exclusions=excluded, started=min(started, default=None),
            ended=max(ended, default=None))

    def current(self, y: int, scales) -> tuple[pd.DataFrame, dict, bool]:
        """Cronbach's alphas, the answer distributions and whether "not applicable" is
        recorded, on the current wave ``y``."""
        from analysis.indicators import ALPHA_COLUMNS, alpha_from_moments

        alphas = pd.DataFrame(
            [{"norm": s.norm, "kind": s.kind, "n_items": len(s.items), "n": int(m[0]),
              "alpha": alpha_from_moments(*m)}
             for s, m in zip(self._alpha_scales, self._moments, strict=True)],
            columns=list(ALPHA_COLUMNS))
        return (alphas, *self._distributions(y, scales))

    def _distributions(self, y: int, scales) -> tuple[dict, bool]:
        from analysis.dask_engine import estimate_partitioned
        from analysis.distributions import (
            ANSWER_CODES,
            DISTRIBUTION_COLUMNS,
            NOT_APPLICABLE_CODE,
            share_rows,
        )
        from analysis.report.current_wave import answer_labels, distributions_from_table, english

        definition = self.definitions[y]
        items = [c for s in scales for c in s.items]
        labels = answer_labels(definition, items)
        # (item, codes, domain): the answers 1-5 among those answering 1-5, "not applicable"
        # among those answering at all; the 9s stay in the data for that
        blocks = []
        for c in items:
            blocks.append((c, ANSWER_CODES, ANSWER_CODES))
            if NOT_APPLICABLE_CODE in labels[c]:
                blocks.append((c, (NOT_APPLICABLE_CODE,), (*ANSWER_CODES, NOT_APPLICABLE_CODE)))
        columns = [(c, (code,), domain) for c, codes, domain in blocks for code in codes]
        options = {**self._options[y],
                   "cleaning": replace(self.meta.cleanings[y], not_applicable={})}
        result = estimate_partitioned(
            self.by_wave[y], [c for c, _, _ in columns], "mean", deff=False,
            indicators=[(codes, domain) for _, codes, domain in columns],
            respondents=[(j,) for j in range(len(columns))], **options)
        share, se, n = result.estimate.coef, result.estimate.se, result.respondents[0]
        names = english(labels)
        rows, at, answered = [], 0, {}
        held = False
        for c, codes, _domain in blocks:
            rows += share_rows(c, codes, share[at:at + len(codes)], se[at:at + len(codes)],
                               int(n[at]), names[c])
            if codes == ANSWER_CODES:
                answered[c] = n[at]
            else:  # rows answering 9: those answering at all less those answering 1-5
                held = held or n[at] > answered[c]
            at += len(codes)
        table = pd.DataFrame(rows, columns=list(DISTRIBUTION_COLUMNS))
        return distributions_from_table(table, bool(held), definition, scales, labels)

    def subgroup_tests(self, y: int, scales, subgroups, which, min_n, orders, method):
        from analysis.report.current_wave import tests_of_domain_scores

        means: dict = {}  # one estimate for every variable: the same passes over the files

        def domain_scores(scores, variable, offset):
            if not means:
                means["all"] = self._domain_means(y, scores, subgroups)
            return _domain_scores(*means["all"], scores, variable, offset)

        return tests_of_domain_scores(domain_scores, scales, subgroups, which, min_n, orders,
                                      method)

    def _domain_means(self, y: int, scores: dict, subgroups) -> tuple:
        """The items of ``scores``: their means in every group of the ``subgroups`` with their
        covariances across the groups of each variable, and the rows answering each score's
        items and each item per group (``(result, items, sets)``)."""
        from analysis.dask_engine import estimate_partitioned

        items = list(dict.fromkeys(c for its, _c in scores.values() for c in its))
        col = {c: j for j, c in enumerate(items)}
        sets = [tuple(sorted({col[c] for c in its})) for its, _c in scores.values()]
        result = estimate_partitioned(
            self.by_wave[y], items, "mean", by=list(subgroups), deff=False, covariance="by",
            respondents=[*sets, *((j,) for j in range(len(items)))], **self._options[y])
        return result, items, sets

    def compare(self, names, base, current, spec, plan):
        from analysis.commands.waves_partitioned import compare_partitioned

        args = SimpleNamespace(**vars(self.args), base=base, current=current)
        return compare_partitioned(args, names, None, spec)

    def trend(self, names, years, spec, plan):
        from analysis.commands.waves_partitioned import trend_partitioned

        return trend_partitioned(self.args, names, years, spec)


def _domain_scores(result, items: list, sets: list, scores: dict, variable: str,
                   offset: float) -> dict:
    """:func:`analysis.domain_tests.scores_by_domain` from the engine's item means by domain
    (:meth:`DaskEngine._domain_means`): each score in every group of ``variable`` and their
    covariance across the groups, as the contrast of the means."""
    from analysis.domain_tests import DomainScores

    col = {c: j for j, c in enumerate(items)}
    k, S = len(items), len(scores)
    position = {label: g for g, (by, label) in enumerate(result.groups) if by == variable}
    wanted = sorted(position)
    used = np.zeros(k, dtype=bool)
    used[[j for s in sets for j in s]] = True
    L = np.zeros((len(wanted) * S, len(result.estimate)))
    for w, group in enumerate(wanted):
        g = position[group]
        empty = used & (result.respondents[g, S:] == 0)
        if empty.any():
            raise AnalysisInputError(
                f"column '{items[int(np.flatnonzero(empty)[0])]}': no answers in group "
                f"'{group}' of '{variable}', so the score has no estimate there")
        for s, (its, coefficients) in enumerate(scores.values()):
            for c, weight in zip(its, coefficients, strict=True):
                L[w * S + s, g * k + col[c]] += float(weight)
    combined = result.estimate.contrast(L, offset=offset)
    out = {}
    for s, name in enumerate(scores):
        at = [w * S + s for w in range(len(wanted))]
        out[name] = DomainScores(
            variable, tuple(wanted), combined.coef[at].copy(),
            combined.vcov[np.ix_(at, at)],
            tuple(int(result.respondents[position[g], s]) for g in wanted),
            int(result.estimate.df))
    return out
