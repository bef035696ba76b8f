"""What the report computes on the current wave's design beyond the scores: the answer
distributions of every item (:mod:`analysis.distributions`) and the subgroup Wald tests with
their pairwise differences (:mod:`analysis.domain_tests`). Called by
:func:`analysis.report.findings.build_findings`."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from analysis.report.model import (
    AnswerShare,
    ItemDistribution,
    PairwiseDifference,
    SubgroupTest,
)


def distributions_by_norm(design, definition, scales, not_applicable=None
                          ) -> tuple[dict[str, tuple[ItemDistribution, ...]], bool]:
    """Answer distributions of every scored item, per norm, with the questionnaire's wording
    and answer labels (:func:`analysis.distributions.answer_distributions`), and whether the
    data record "not applicable" (code 9) at all. ``not_applicable``: the pipeline's record of
    the cells that held 9 (it makes them missing for every estimate)."""
    from analysis.distributions import NOT_APPLICABLE_CODE, answer_distributions

    items = [c for s in scales for c in s.items]
    labels = answer_labels(definition, items)
    table = answer_distributions(design, items, english(labels), not_applicable=not_applicable)
    held = (not_applicable is not None and bool(not_applicable.to_numpy().any())) or any(
        (design.item_column(c) == NOT_APPLICABLE_CODE).any() for c in items)
    return distributions_from_table(table, held, definition, scales, labels)


def answer_labels(definition, items) -> dict[str, dict[int, dict[str, str]]]:
    """Per item its answer codes' labels per language, "not applicable" included."""
    labels = {}
    for code in items:
        item = definition.items[code]
        options = [*item.options, *([item.not_applicable] if item.not_applicable else [])]
        labels[code] = {int(o.code): dict(o.label) for o in options if o.code is not None}
    return labels


def english(labels: dict) -> dict[str, dict[int, str]]:
    """The English label of each answer code (the distributions table's ``label``)."""
    return {c: {k: v.get("en", "") for k, v in ls.items()} for c, ls in labels.items()}


def distributions_from_table(table, held: bool, definition, scales, labels
                             ) -> tuple[dict[str, tuple[ItemDistribution, ...]], bool]:
    """:func:`distributions_by_norm`'s result from the distributions table
    (:data:`analysis.distributions.DISTRIBUTION_COLUMNS`) and whether the data hold a
    "not applicable" code at all (``held``)."""
    from analysis.distributions import NOT_APPLICABLE_CODE

    # an export that writes "not applicable" as an empty cell (the old format) holds no 9 at all:
    # its share is then unknown, not zero
    recorded = bool((table["code"] == NOT_APPLICABLE_CODE).any()) and held
    if not recorded:
        table = table[table["code"] != NOT_APPLICABLE_CODE]
    out: dict[str, list[ItemDistribution]] = {}
    for scale in scales:
        for code in scale.items:
            rows = table[table["item"] == code]
            shares = [AnswerShare(int(r.code), labels[code].get(int(r.code), {}), float(r.share),
                                  float(r.se), float(r.ci_low), float(r.ci_high), int(r.n))
                      for r in rows.itertuples(index=False)]
            na = [s for s in shares if s.code not in range(1, 6)]
            out.setdefault(scale.norm, []).append(ItemDistribution(
                code, scale.kind, dict(definition.items[code].text),
                tuple(s for s in shares if s.code in range(1, 6)), na[0] if na else None))
    return {norm: tuple(d) for norm, d in out.items()}, recorded


def subgroup_tests(design, scales, subgroups, which: str, min_n: int, orders, method: str
                   ) -> list[SubgroupTest]:
    """For each norm's practice score (and the overall practice index) and each subgroup
    variable: the Wald test of equal domain means of that score, on the groups with at least
    ``min_n`` responses, and the pairwise differences adjusted (``method``) within the pairs of
    the norm and variable. ``which="none"`` skips them."""
    from analysis.domain_tests import scores_by_domain

    if design is None:
        return []
    return tests_of_domain_scores(
        lambda scores, variable, offset: scores_by_domain(design, scores, variable,
                                                          offset=offset),
        scales, subgroups, which, min_n, orders, method)


def tests_of_domain_scores(domain_scores, scales, subgroups, which: str, min_n: int, orders,
                           method: str) -> list[SubgroupTest]:
    """:func:`subgroup_tests` with the domain scores from ``domain_scores(scores, variable,
    offset)`` (:func:`analysis.domain_tests.scores_by_domain`'s arguments and result: in
    memory, or on the Dask engine)."""
    from analysis.domain_tests import equal_means_test, pairwise_differences

    out: list[SubgroupTest] = []
    if not subgroups or which == "none":
        return out
    practice = [s for s in scales if s.kind == "practice"]
    targets = [(f"{s.norm}.practice", list(s.items), [25.0 / len(s.items)] * len(s.items))
               for s in practice]
    if practice:  # the overall index: the mean of the norms' practice scores
        k = len(practice)
        targets.append(("index.practice", [c for s in practice for c in s.items],
                        [25.0 / len(s.items) / k for s in practice for _c in s.items]))
    for variable in subgroups:
        order = orders.get(variable, [])
        every = domain_scores({name: (items, coefficients)
                               for name, items, coefficients in targets}, variable, -25.0)
        for target, _items, _coefficients in targets:
            everyone = every[target]
            ranked = sorted(everyone.groups, key=lambda g: (order.index(g) if g in order
                                                            else len(order), g))
            n = dict(zip(everyone.groups, everyone.n, strict=True))
            kept = [g for g in ranked if n[g] >= min_n]
            left_out = tuple(g for g in ranked if n[g] < min_n)
            if len(kept) < 2:
                continue
            at = [everyone.groups.index(g) for g in kept]
            scores = replace(everyone, groups=tuple(kept), estimates=everyone.estimates[at],
                             vcov=everyone.vcov[np.ix_(at, at)],
                             n=tuple(everyone.n[i] for i in at))
            test = equal_means_test(scores)
            pairs = tuple(PairwiseDifference(r.group_a, r.group_b, float(r.diff), float(r.se),
                                             float(r.ci_low), float(r.ci_high),
                                             float(r.p_value), float(r.p_adjusted))
                          for r in pairwise_differences(scores, method).itertuples(index=False))
            out.append(SubgroupTest(variable, target, test.f, test.ndf, test.ddf, test.p_value,
                                    groups=tuple(kept), left_out=left_out, pairs=pairs))
    return out
