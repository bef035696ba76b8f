"""Ten Norms indicators: awareness and practice scores on 0-100, the knowledge-action gap, the
overall index, with design-based SEs; Cronbach's alpha of each multi-item scale.

Definitions (every number is on the design passed in, so weights, strata, PSUs, fpc and
calibration all count):

* **Item mean** ``m_j``: the weighted mean of item ``j``'s answers (codes 1..5) over the
  respondents who answered it. A missing answer (not answered, not shown, "not applicable") puts
  the respondent outside that item's domain, as R's ``svymean(~item, na.rm=TRUE)``; each item uses
  its own respondents.
* **Norm score** (``N04.awareness``, ``N04.practice``): ``25 * (mean_j m_j - 1)``, i.e. each item
  mean mapped from 1..5 to 0..100 by ``(m - 1) / 4 * 100`` and averaged over the norm's items of
  that kind (equal item weights).
* **Gap** (``N04.gap``): awareness score minus practice score (points on the 0-100 scale).
* **Overall index** (``index.awareness``, ``index.practice``, ``index.gap``): the mean of the
  norm scores over the norms that have items of that kind (all ten in the Ten Norms waves);
  ``index.gap = index.awareness - index.practice``.

Every indicator is a linear function of the item means, ``L @ m + c``: a contrast of the item
means. The estimator gives the item means of every domain group with their design covariance
(``SurveyDesign.mean(..., covariance="group")``, an :class:`analysis.results.Estimate`) and the
indicators are ``Estimate.contrast_within_groups(L, offset=c)``, covariance ``L V L'``. This
accounts for the correlation between items answered by the same people, which a naive average of
SEs ignores. It equals R's ``svycontrast()`` of the ratio estimators
``total(y*answered)/total(answered)`` (checked against R 4.2.2 / survey 4.1-1,
``tests/fixtures/r_indicators_trends``).

Which items make a norm's scale comes from the wave definition (:func:`wave_scales`), never from a
list in the code. Targets are named ``<item code>`` (a raw item, e.g. ``N04_P1``), ``<norm>.<kind>``
(``N04.practice``) or ``index.<kind>``, ``kind`` one of ``awareness``, ``practice``, ``gap``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analysis.errors import AnalysisInputError
from analysis.results import Estimate

SCALE_KINDS = ("awareness", "practice")
INDICATOR_KINDS = ("awareness", "practice", "gap")
INDICATOR_COLUMNS = ("indicator", "norm", "kind", "by", "group", "estimate", "se", "ci_low",
                     "ci_high", "n", "n_items")
ALPHA_COLUMNS = ("norm", "kind", "n_items", "n", "alpha")
_INDICATOR_RE = re.compile(r"^(N\d\d|index)\.(awareness|practice|gap)$")

__all__ = [
    "INDICATOR_COLUMNS",
    "INDICATOR_KINDS",
    "IndicatorEstimates",
    "Scale",
    "Target",
    "cronbach_alpha",
    "estimate_targets",
    "norm_scores",
    "parse_target",
    "parse_targets",
    "scale_alphas",
    "scales_in_data",
    "target_estimate",
    "wave_scales",
]


# --------------------------------------------------------------------------- scales and targets
@dataclass(frozen=True)
class Scale:
    """The items of one norm and kind, e.g. ``Scale('N04', 'practice', ('N04_P1', 'N04_P2'))``.

    ``versions`` holds each item's wording version (same order as ``items``), which decides
    comparability across waves.
    """

    norm: str
    kind: str
    items: tuple[str, ...]
    versions: tuple[int, ...] = ()

    @property
    def name(self) -> str:
        return f"{self.norm}.{self.kind}"

    @property
    def signature(self) -> tuple[tuple[str, int | None], ...]:
        """``((code, wording_version), ...)``: two waves' scales are comparable when equal."""
        versions = self.versions or (None,) * len(self.items)
        return tuple(sorted(zip(self.items, versions, strict=True)))


def wave_scales(wave) -> tuple[Scale, ...]:
    """The awareness and practice scales of a :class:`questionnaires.Wave`, norm by norm in
    questionnaire order (items in questionnaire order)."""
    groups: dict[tuple[str, str], list] = {}
    for item in wave.items.values():
        if item.kind in SCALE_KINDS and item.norm:
            groups.setdefault((item.norm, item.kind), []).append(item)
    norms = sorted({norm for norm, _ in groups})
    out = []
    for norm in norms:
        for kind in SCALE_KINDS:
            items = groups.get((norm, kind))
            if items:
                out.append(Scale(norm, kind, tuple(i.code for i in items),
                                 tuple(i.wording_version for i in items)))
    return tuple(out)


def scales_in_data(scales: Iterable[Scale], data: pd.DataFrame
                   ) -> tuple[tuple[Scale, ...], dict[str, tuple[str, ...]]]:
    """Keep, in each scale, the items that ``data`` has as a column with at least one answer.

    Returns ``(scales, dropped)``: ``dropped`` maps a scale name to the wave's items that the data
    lack (so a caller can say so); a scale left with no items is dropped entirely.
    """
    kept, dropped = [], {}
    for s in scales:
        present = [(c, v) for c, v in zip(s.items, s.versions or (None,) * len(s.items),
                                            strict=True)
                   if c in data.columns and data[c].notna().any()]
        missing = tuple(c for c in s.items if c not in {p[0] for p in present})
        if missing:
            dropped[s.name] = missing
        if present:
            kept.append(Scale(s.norm, s.kind, tuple(p[0] for p in present),
                              tuple(p[1] for p in present) if s.versions else ()))
    return tuple(kept), dropped


@dataclass(frozen=True)
class Target:
    """A parsed target name: a raw ``item`` or an indicator (``norm`` 'N04' or 'index')."""

    name: str
    item: str | None = None
    norm: str | None = None
    kind: str | None = None

    @property
    def is_indicator(self) -> bool:
        return self.item is None


def parse_targets(names: Iterable[str]) -> list[Target]:
    """Target names parsed, duplicates dropped, in the order given."""
    targets: list[Target] = []
    for name in names:
        t = parse_target(name)
        if t.name not in {x.name for x in targets}:
            targets.append(t)
    return targets


def parse_target(name: str) -> Target:
    """``'N04.practice'`` -> indicator target; anything else -> raw item target."""
    name = name.strip()
    if not name:
        raise AnalysisInputError("an empty item name was given")
    m = _INDICATOR_RE.match(name)
    if m:
        return Target(name=name, norm=m.group(1), kind=m.group(2))
    if "." in name:
        raise AnalysisInputError(
            f"item '{name}': an indicator is named NORM.KIND (e.g. N04.practice, index.gap) with "
            "KIND awareness, practice or gap")
    return Target(name=name, item=name)


# --------------------------------------------------------------------------- linear combinations
@dataclass
class _Combination:
    """Targets as ``L @ item_means + offset`` over ``items``."""

    names: list[str]
    items: list[str]
    L: np.ndarray  # (m, k)
    offset: np.ndarray  # (m,)
    meta: list[dict] = field(default_factory=list)  # per target: norm, kind, n_items


def _indicator_rows(scales: Sequence[Scale], col: dict[str, int], k: int
                    ) -> dict[str, tuple[np.ndarray, float, int]]:
    """Every indicator the scales allow: name -> (row of L, offset, number of items)."""
    rows: dict[str, tuple[np.ndarray, float, int]] = {}
    for s in scales:
        row = np.zeros(k)
        for code in s.items:
            row[col[code]] += 25.0 / len(s.items)
        rows[s.name] = (row, -25.0, len(s.items))
    norms = sorted({s.norm for s in scales})
    for norm in norms:
        a, p = rows.get(f"{norm}.awareness"), rows.get(f"{norm}.practice")
        if a is not None and p is not None:
            rows[f"{norm}.gap"] = (a[0] - p[0], 0.0, a[2] + p[2])
    for kind in SCALE_KINDS:
        parts = [rows[f"{norm}.{kind}"] for norm in norms if f"{norm}.{kind}" in rows]
        if parts:
            rows[f"index.{kind}"] = (sum(r[0] for r in parts) / len(parts), -25.0,
                                     sum(r[2] for r in parts))
    if "index.awareness" in rows and "index.practice" in rows:
        a, p = rows["index.awareness"], rows["index.practice"]
        rows["index.gap"] = (a[0] - p[0], 0.0, a[2] + p[2])
    return rows


def _combination(targets: Sequence[Target], scales: Sequence[Scale]) -> _Combination:
    items: list[str] = []
    for t in targets:
        if t.item is not None and t.item not in items:
            items.append(t.item)
    for s in scales:
        for code in s.items:
            if code not in items:
                items.append(code)
    col = {c: j for j, c in enumerate(items)}
    k = len(items)
    available = _indicator_rows(scales, col, k)
    L = np.zeros((len(targets), k))
    offset = np.zeros(len(targets))
    meta = []
    for i, t in enumerate(targets):
        if t.item is not None:
            L[i, col[t.item]] = 1.0
            meta.append({"norm": None, "kind": None, "n_items": 1})
            continue
        if t.name not in available:
            kinds = "awareness and practice" if t.kind == "gap" else t.kind
            where = "any norm" if t.norm == "index" else t.norm
            raise AnalysisInputError(
                f"indicator '{t.name}': the wave has no {kinds} items for {where} in the data")
        row, off, n_items = available[t.name]
        L[i], offset[i] = row, off
        meta.append({"norm": t.norm, "kind": t.kind, "n_items": n_items})
    return _Combination([t.name for t in targets], items, L, offset, meta)


def _estimate_combination(design, comb: _Combination, by=None,
                          levels: Sequence[float] | None = None) -> Estimate:
    """Estimates of each target of ``comb`` overall and by domain, group by group, with their
    covariances within each group.

    The item means (or shares of ``levels``) by domain come from the estimator with their
    covariances within each domain group; the targets are the contrast ``L @ means + offset``
    in every group (R's ``svyby`` then ``svycontrast``)."""
    from analysis.estimates import domain_partitions, estimate

    statistic = "mean" if levels is None else "proportion"
    means = estimate(design, comb.items, statistic, by=by, deff=False, levels=levels,
                     covariance="group")
    by_list = [] if by is None else ([by] if isinstance(by, str) else list(by))
    n = _respondents(design, comb, domain_partitions(design, by_list))
    return combination_estimate(means, comb, n)


def combination_estimate(means: Estimate, comb: _Combination, n: np.ndarray) -> Estimate:
    """The targets of ``comb`` from the item means of every domain group (``means``, items in
    ``comb.items`` order within each group, covariances within groups) and the respondents
    ``n`` per group and target: ``L @ means + offset`` in every group."""
    return means.contrast_within_groups(comb.L, names=comb.names, offset=comb.offset, n=n)


def respondent_sets(comb: _Combination) -> list[tuple[int, ...]]:
    """Per target the positions of the items it uses (its respondents answer any of them)."""
    return [tuple(int(j) for j in np.flatnonzero(row)) for row in comb.L != 0]


def _combination_table(targets: Estimate, level: float) -> pd.DataFrame:
    """``name, by, group, estimate, se, ci_low, ci_high, n`` of the targets' estimate."""
    return targets.to_frame(level).rename(columns={"item": "name"}).drop(columns="deff")


def _respondents(design, comb: _Combination, partitions) -> np.ndarray:
    """Per domain group and target (group by group), the respondents in the group with at
    least one answered item of the target (whatever their weight)."""
    uses = comb.L != 0
    missing = [design.item_values(col)[1] for col in comb.items]
    answered_any: dict[tuple[int, ...], np.ndarray] = {}
    for row in uses:
        key = tuple(np.flatnonzero(row))
        if key not in answered_any:
            n_missing = np.zeros(design.n, dtype=np.int32)
            for j in key:
                n_missing[missing[j]] += 1
            answered_any[key] = n_missing < len(key)
    blocks = []
    for _, codes, labels in partitions:
        g = len(labels)
        counts = np.column_stack([
            np.bincount(codes[answered_any[tuple(np.flatnonzero(row))] & (codes >= 0)],
                        minlength=g)[:g] for row in uses])
        blocks.append(counts)
    return np.vstack(blocks).ravel()


# --------------------------------------------------------------------------- public estimators
@dataclass
class IndicatorEstimates:
    """Norm scores, gaps and the overall index of one design.

    ``table`` columns: ``indicator`` (e.g. ``N04.practice``), ``norm`` (``N04`` or ``index``),
    ``kind`` (awareness/practice/gap), ``by``, ``group`` (empty for the whole sample),
    ``estimate`` (points on 0-100), ``se``, ``ci_low``, ``ci_high`` (normal, ``level``),
    ``n`` (respondents in the domain with at least one answered item of the indicator),
    ``n_items``. ``dropped`` names wave items the data lacked (scored without them).
    """

    table: pd.DataFrame
    scales: tuple[Scale, ...]
    level: float = 0.95
    dropped: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def __repr__(self) -> str:
        t = self.table[self.table["by"] == ""]
        lines = [f"Ten Norms indicators (0-100), {len(self.scales)} scales, "
                 f"{int(self.level * 100)}% CI"]
        for _, r in t.iterrows():
            lines.append(f"  {r['indicator']:<16} {r['estimate']:7.2f}  se {r['se']:.2f}  "
                         f"[{r['ci_low']:.2f}, {r['ci_high']:.2f}]  n={r['n']}")
        return "\n".join(lines)


def norm_scores(design, scales: Sequence[Scale] | None = None, *, wave=None, by=None,
                level: float = 0.95) -> IndicatorEstimates:
    """Awareness and practice scores per norm, their gaps and the overall index.

    Parameters
    ----------
    design:
        A :class:`analysis.SurveyDesign` on one wave's responses.
    scales:
        The scales to score; default ``wave_scales(wave)`` restricted to the items present in
        the data (give ``wave``, a :class:`questionnaires.Wave`).
    by:
        Column name or list of names: domain estimates for each group (computed on the full
        design, as R's ``svyby``), after the whole-sample rows.
    level:
        Confidence level of the normal-theory intervals.

    Returns
    -------
    IndicatorEstimates
        ``.table`` with :data:`INDICATOR_COLUMNS`: for each domain, per norm ``.awareness``,
        ``.practice``, ``.gap``, then ``index.awareness``, ``index.practice``, ``index.gap``.
    """
    dropped: dict[str, tuple[str, ...]] = {}
    if scales is None:
        if wave is None:
            raise ValueError("give the scales or the wave whose scales to use")
        scales, dropped = scales_in_data(wave_scales(wave), design.data)
    scales = tuple(scales)
    comb = _combination(norm_targets(scales), scales)
    return indicator_estimates(_estimate_combination(design, comb, by=by), comb, scales,
                               dropped, level)


def norm_targets(scales: Sequence[Scale]) -> list[Target]:
    """The targets :func:`norm_scores` estimates on ``scales``: per norm ``.awareness``,
    ``.practice``, ``.gap`` (those the scales have), then the overall index's."""
    if not scales:
        raise AnalysisInputError("none of the wave's awareness or practice items is in the data")
    names = []
    for norm in sorted({s.norm for s in scales}):
        names += [f"{norm}.{k}" for k in INDICATOR_KINDS]
    names += [f"index.{k}" for k in INDICATOR_KINDS]
    probe = _indicator_rows(scales, {c: 0 for s in scales for c in s.items}, 1)
    return [parse_target(n) for n in names if n in probe]


def indicator_estimates(estimate: Estimate, comb: _Combination, scales: Sequence[Scale],
                        dropped: dict, level: float = 0.95) -> IndicatorEstimates:
    """:func:`norm_scores`' result from the targets' ``estimate`` (in memory, or the Dask
    engine's :func:`analysis.commands.estimate_partitioned.target_estimate_partitioned`)."""
    table = _combination_table(estimate, level)
    meta = pd.DataFrame(comb.meta, index=comb.names)
    table.insert(1, "norm", meta.loc[table["name"], "norm"].to_numpy())
    table.insert(2, "kind", meta.loc[table["name"], "kind"].to_numpy())
    table["n_items"] = meta.loc[table["name"], "n_items"].to_numpy()
    table = table.rename(columns={"name": "indicator"})[list(INDICATOR_COLUMNS)]
    return IndicatorEstimates(table=table, scales=tuple(scales), level=level, dropped=dropped)


def estimate_targets(design, targets: Sequence[str | Target], scales: Sequence[Scale] = (), *,
                     by=None, level: float = 0.95,
                     proportion: Sequence[float] | None = None) -> pd.DataFrame:
    """Estimates of raw items and indicators on one design, in one pass.

    ``targets`` are names as :func:`parse_target` reads them; indicators are built from
    ``scales``. With ``proportion`` (answer codes, e.g. ``[4, 5]``) raw items are estimated as
    the share of answers in those codes (0-1) instead of means; indicators do not accept it.

    Returns a DataFrame ``item, by, group, estimate, se, ci_low, ci_high, n`` (whole sample
    first, then by domain; ``item`` is the target name).
    """
    estimate = target_estimate(design, targets, scales, by=by, proportion=proportion)
    return _combination_table(estimate, level).rename(columns={"name": "item"})


def target_estimate(design, targets: Sequence[str | Target], scales: Sequence[Scale] = (), *,
                    by=None, proportion: Sequence[float] | None = None) -> Estimate:
    """The estimate :func:`estimate_targets` tabulates: one per target and domain group
    (``item`` the target name; whole sample first, then by domain), with the covariances of
    the targets within each group (R's ``svycontrast`` of a ``svyby``)."""
    parsed = [t if isinstance(t, Target) else parse_target(t) for t in targets]
    if proportion is not None and any(t.is_indicator for t in parsed):
        raise AnalysisInputError("--proportion applies to raw items, not to indicators "
                                 "(norm scores are means on 0-100)")
    return _estimate_combination(design, _combination(parsed, scales), by=by, levels=proportion)


# --------------------------------------------------------------------------- Cronbach's alpha
def cronbach_alpha(data: pd.DataFrame, items: Sequence[str],
                   weights: np.ndarray | str | None = None) -> tuple[float, int]:
    """Cronbach's alpha of ``items`` on the complete cases -> ``(alpha, n)``.

    ``alpha = k/(k-1) * (1 - sum(var(item)) / var(sum of items))``. Unweighted by default (the
    usual psychometric statistic, as R's ``psych::alpha`` or the base-R formula); with
    ``weights`` (an array or a column name) the variances are weighted (the ``n-1`` factors
    cancel). NaN when fewer than two items or two complete cases.
    """
    items = list(items)
    k = len(items)
    if k < 2:
        return float("nan"), 0
    x = np.column_stack([pd.to_numeric(data[c], errors="coerce").to_numpy(float, na_value=np.nan)
                         for c in items])
    w = (np.ones(len(data)) if weights is None else
         np.asarray(data[weights] if isinstance(weights, str) else weights, dtype=float))
    ok = ~np.isnan(x).any(axis=1) & (w > 0)
    x, w = x[ok], w[ok]
    n = int(ok.sum())
    if n < 2:
        return float("nan"), n

    def var(v):
        mu = np.average(v, weights=w, axis=0)
        return np.average((v - mu) ** 2, weights=w, axis=0)

    total_var = var(x.sum(axis=1))
    if total_var == 0:
        return float("nan"), n
    return float(k / (k - 1) * (1 - var(x).sum() / total_var)), n


def complete_case_moments(data: pd.DataFrame, items: Sequence[str]
                          ) -> tuple[int, np.ndarray, np.ndarray]:
    """``(n, sums, cross-products)`` of ``items`` over the rows answering all of them: what
    :func:`alpha_from_moments` needs, added up over the partitions of a data set."""
    x = np.column_stack([pd.to_numeric(data[c], errors="coerce").to_numpy(float, na_value=np.nan)
                         for c in items]) if len(items) else np.zeros((len(data), 0))
    x = x[~np.isnan(x).any(axis=1)]
    return len(x), x.sum(axis=0), x.T @ x


def alpha_from_moments(n: int, sums: np.ndarray, squares: np.ndarray) -> float:
    """Unweighted Cronbach's alpha (:func:`cronbach_alpha`) from the complete cases' count,
    item sums and cross-products (:func:`complete_case_moments`)."""
    k = len(sums)
    if k < 2 or n < 2:
        return float("nan")
    mean = sums / n
    item_var = np.diag(squares) / n - mean ** 2
    total_var = squares.sum() / n - mean.sum() ** 2
    if total_var == 0:
        return float("nan")
    return float(k / (k - 1) * (1 - item_var.sum() / total_var))


def scale_alphas(data: pd.DataFrame, scales: Sequence[Scale],
                 weights: np.ndarray | str | None = None) -> pd.DataFrame:
    """Cronbach's alpha of every scale with at least two items: columns
    ``norm, kind, n_items, n, alpha`` (``n`` = complete cases)."""
    rows = []
    for s in scales:
        if len(s.items) < 2:
            continue
        a, n = cronbach_alpha(data, s.items, weights)
        rows.append({"norm": s.norm, "kind": s.kind, "n_items": len(s.items), "n": n, "alpha": a})
    return pd.DataFrame(rows, columns=list(ALPHA_COLUMNS))
