"""Which targets can be compared across waves: one set of rules for `compare`, `trend`, the
report and anything else that puts two or more waves side by side.

The rules (from each wave's definition, see :mod:`analysis.metadata`, never from the data alone):

* A raw item is comparable when every wave asks it with the same code *and* wording version
  (:func:`questionnaires.comparable`). When some wave's metadata do not give wording versions
  (no codebook and no wave file), the same code is taken as the same question and the pipeline
  has said so once.
* A norm score is comparable when every wave scores it from the same items with the same wording
  versions; a gap needs both its scales, the overall index every norm's scale. With
  ``common_items`` the waves are instead re-scored on the items they all share (the items left
  out are listed in a note).
* When the waves follow different Ten Norms versions and a norm's official title or text changed
  between them, every target of that norm gets a note (the comparison is still made when the
  items themselves are comparable).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import pandas as pd

from analysis.errors import AnalysisInputError
from analysis.indicators import SCALE_KINDS, Scale, Target, scales_in_data, wave_scales

__all__ = ["Comparability", "check_targets", "component_scales", "describe",
           "norm_wording_notes", "wave_scales_in_data"]

Note = tuple[str, str, str]  # (kind, item, message)


@dataclass
class Comparability:
    """The outcome of :func:`check_targets`.

    ``comparable``: the targets to estimate, in the order given; ``not_comparable``:
    ``(target name, reason)``; ``scales``: per wave, scale name -> :class:`Scale` to score
    indicators with (restricted to the items the data have, and with ``common_items`` to the
    shared ones); ``notes``: ``(kind, item, message)`` (``items_dropped``, ``norm_wording``).
    """

    comparable: list[Target]
    not_comparable: list[tuple[str, str]]
    scales: dict[int, dict[str, Scale]]
    notes: list[Note] = field(default_factory=list)

    def scales_for(self, year: int, targets: Sequence[Target] | None = None) -> list[Scale]:
        """The scales of wave ``year`` the (comparable) indicator targets use."""
        targets = self.comparable if targets is None else targets
        used = {n for t in targets if t.is_indicator
                for n in component_scales(t, self.scales[year])}
        return [s for name, s in self.scales[year].items() if name in used]


def _years_text(years: Sequence[int], joiner: str = " or ") -> str:
    return joiner.join(map(str, years))


def component_scales(target: Target, scales: Mapping[str, Scale]) -> list[str]:
    """The scale names an indicator is built from (``N04.gap`` -> awareness and practice)."""
    kinds = SCALE_KINDS if target.kind == "gap" else (target.kind,)
    if target.norm == "index":
        return sorted(n for n in scales if n.split(".")[1] in kinds)
    return [f"{target.norm}.{k}" for k in kinds]


def describe(signature) -> str:
    """``(('N04_P1', 1), ('N04_P2', None))`` -> ``'N04_P1@1, N04_P2'``."""
    return ", ".join(f"{c}@{v}" if v is not None else c for c, v in signature) or "no items"


def _norms_of(target: Target, definitions: Sequence) -> set[str]:
    if target.item is not None:
        norms = {d.items[target.item].norm for d in definitions if target.item in d.items}
        return {n for n in norms if n}
    if target.norm == "index":
        return {i.norm for d in definitions for i in d.items.values()
                if i.kind in SCALE_KINDS and i.norm}
    return {target.norm}


def norm_wording_notes(definitions: Mapping[int, object], targets: Sequence[Target],
                       load_norms: Callable[[], object] | None = None) -> list[Note]:
    """Notes for targets of norms whose official wording changed between the norms versions
    the waves follow (same code N01..N10 = same topic in both versions). Waves whose norms
    version is unknown (metadata without one) take no part."""
    versions = {y: d.norms_version for y, d in definitions.items() if d.norms_version}
    if len(set(versions.values())) < 2:
        return []
    if load_norms is None:
        from questionnaires import load_norms
    catalogue = load_norms()
    unknown = sorted(v for v in set(versions.values()) if v not in catalogue.versions)
    if unknown:
        return [("norm_wording", "", f"norms version {', '.join(unknown)} is not in the Ten "
                 "Norms catalogue, so changes of the norms' official wording are not checked")]
    years = sorted(versions)
    changed = {}
    for i, a in enumerate(years):
        for b in years[i + 1:]:
            for ch in catalogue.changed_between(versions[a], versions[b]):
                changed.setdefault(ch.code, ch)
    notes = []
    used = ", ".join(f"{y} follows the {v} version" for y, v in sorted(versions.items()))
    for t in targets:
        for norm in sorted(_norms_of(t, list(definitions.values())) & set(changed)):
            ch = changed[norm]
            what = []
            if ch.title_changed:
                what.append(f"title {ch.title_from} -> {ch.title_to}")
            if ch.text_changed:
                what.append("explanatory text")
            if ch.note:
                what.append(ch.note)
            detail = "; ".join(what) or "wording"
            notes.append(("norm_wording", t.name,
                          f"{t.name}: the official wording of norm {norm} changed between the "
                          f"{ch.from_version} and {ch.to_version} versions ({detail}; {used}); "
                          f"{norm} is the same topic in both, so comparability is judged on the "
                          "items' own wording"))
    return notes


def wave_scales_in_data(definitions: Mapping[int, object], frames: Mapping[int, pd.DataFrame],
                        targets: Sequence[Target]):
    """Each wave's scales restricted to the items its data have, and one note per scale whose
    items some wave defines but the data lack (only for scales the targets use)."""
    scales: dict[int, dict[str, Scale]] = {}
    lacking: dict[tuple[str, tuple[str, ...]], list[int]] = {}
    for y in sorted(definitions):
        full = {s.name: s for s in wave_scales(definitions[y])}
        relevant = {n for t in targets if t.is_indicator for n in component_scales(t, full)}
        kept, dropped = scales_in_data(full.values(), frames[y])
        scales[y] = {s.name: s for s in kept}
        for name, codes in dropped.items():
            if name in relevant:
                lacking.setdefault((name, codes), []).append(y)
    notes = [("items_dropped", name,
              f"{name}: the data have no answers to {', '.join(codes)} (asked in wave "
              f"{', '.join(map(str, ys))}); the score uses the wave's other items")
             for (name, codes), ys in lacking.items()]
    return scales, notes


def _without_versions(scales: dict[int, dict[str, Scale]]) -> dict[int, dict[str, Scale]]:
    """Scales compared by item code alone (some wave's wording versions are unknown)."""
    return {y: {n: Scale(s.norm, s.kind, s.items) for n, s in sc.items()}
            for y, sc in scales.items()}


# --------------------------------------------------------------------------- the rules
def _raw_reason(t: Target, definitions, years, versions_known: bool) -> str | None:
    from questionnaires import comparable

    items = {y: definitions[y].items.get(t.item) for y in years}
    lacking = [y for y in years if items[y] is None]
    if len(lacking) == len(years):
        return f"not in the wave definitions of {_years_text(years)}"
    if lacking:
        return f"not asked in wave {', '.join(map(str, lacking))}"
    if not versions_known:
        return None
    for a, b in zip(years, years[1:], strict=False):
        if not comparable(items[a], items[b]):
            return (f"wording changed: version {items[a].wording_version} in {a}, "
                    f"version {items[b].wording_version} in {b}")
    return None


def _indicator_reason(t: Target, scales: dict[int, dict[str, Scale]], years) -> str | None:
    names = sorted({n for y in years for n in component_scales(t, scales[y])})
    if not names:
        return f"{'neither wave' if len(years) == 2 else 'no wave'} has {t.kind} items"
    problems = []
    for name in names:
        sigs = {y: scales[y][name].signature if name in scales[y] else None for y in years}
        lacking = [str(y) for y, s in sigs.items() if s is None]
        if lacking:
            problems.append(f"{name} has no items in wave {', '.join(lacking)}")
        elif len(set(sigs.values())) > 1:
            if len(years) == 2:
                (ya, sa), (yb, sb) = sigs.items()
                problems.append(f"{name} uses {describe(sa)} in {ya} but {describe(sb)} in {yb}")
            else:
                problems.append(f"{name} uses " + "; ".join(f"{describe(s)} in {y}"
                                                             for y, s in sigs.items()))
    return ("different items or wording: " + "; ".join(problems)) if problems else None


def _common_scales(scales, years, targets) -> tuple[dict, list[Note]]:
    """Every wave's scales restricted to the (code, wording version) pairs all waves share."""
    out = {y: {} for y in years}
    notes: list[Note] = []
    names = set.intersection(*(set(scales[y]) for y in years))
    every_wave = "both waves" if len(years) == 2 else "every wave"
    for name in sorted(names):
        shared = set.intersection(*(set(scales[y][name].signature) for y in years))
        if not shared:
            continue
        union = set.union(*(set(scales[y][name].signature) for y in years))
        for y in years:
            s = scales[y][name]
            keep = [(c, v) for c, v in zip(s.items, s.versions or (None,) * len(s.items),
                                           strict=True) if (c, v) in shared]
            out[y][name] = Scale(s.norm, s.kind, tuple(c for c, _ in keep),
                                 tuple(v for _, v in keep) if s.versions else ())
        left_out = sorted(union - shared, key=lambda x: (x[0], x[1] or 0))
        if left_out and any(t.is_indicator for t in targets):
            notes.append(("items_dropped", name,
                          f"{name}: scored in {every_wave} without {describe(left_out)} "
                          "(not comparable: wording or availability differs)"))
    return out, notes


def _check_known(targets, definitions, frames, years) -> None:
    """Raise for an item that no wave defines and the data lack (a typo)."""
    for t in targets:
        if t.item is None:
            continue
        if not any(t.item in definitions[y].items or t.item in frames[y].columns for y in years):
            where = (f"wave {_years_text(years)}" if len(years) == 2
                     else f"waves {_years_text(years, ', ')}")
            raise AnalysisInputError(f"item '{t.item}' is not in {where} (neither in the wave "
                                     "definitions nor a column of the data)")


def _require_answers(t: Target, frames, years) -> None:
    """A comparable item must have answers in every wave's data."""
    for y in years:
        if t.item not in frames[y].columns or frames[y][t.item].notna().sum() == 0:
            raise AnalysisInputError(f"item '{t.item}': wave {y} asks it but the data have no "
                                     f"answers to it in wave {y}")


def check_targets(targets: Sequence[Target], definitions: Mapping[int, object],
                  frames: Mapping[int, pd.DataFrame], *, versions_known: bool = True,
                  common_items: bool = False,
                  load_norms: Callable[[], object] | None = None) -> Comparability:
    """Apply the comparability rules to ``targets`` over the waves of ``definitions``.

    ``frames`` are the waves' responses (after exclusions); ``versions_known`` is false when
    some wave's metadata do not give wording versions (then items compare by code).
    Raises :class:`AnalysisInputError` for an item neither a definition nor the data know, and
    for a comparable item without answers in some wave.
    """
    years = sorted(definitions)
    _check_known(targets, definitions, frames, years)
    scales, notes = wave_scales_in_data(definitions, frames, targets)
    if not versions_known:
        scales = _without_versions(scales)
    if common_items:
        scales, dropped = _common_scales(scales, years, targets)
        notes += dropped
    result = Comparability([], [], scales, notes)
    for t in targets:
        if t.item is not None:
            reason = _raw_reason(t, definitions, years, versions_known)
        else:
            reason = _indicator_reason(t, scales, years)
        if reason is None:
            if t.item is not None:
                _require_answers(t, frames, years)
            result.comparable.append(t)
        else:
            result.not_comparable.append((t.name, reason))
    result.notes += norm_wording_notes(definitions, targets, load_norms)
    return result
