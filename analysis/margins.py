"""Population margins for raking: ``variable, category, target`` (+ optional ``wave``).

Targets are population counts, or shares when a variable's targets sum to 1. Census tables
give variables on different bases (all ages, aged 15+, with or without the military), so count
targets whose totals differ by more than 0.1% are refused unless ``rescale=True``, which turns
every variable into shares of one total (the first count variable's).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.errors import AnalysisInputError, bounded

SHARE_TOLERANCE = 1e-6  # targets summing to 1 within this are shares
BASE_TOLERANCE = 1e-3  # count totals may differ across variables by at most 0.1%
REQUIRED = ("variable", "category", "target")
IGNORED = ("source_note", "note")


def category_label(value) -> str:
    """The string form used to match data categories and margin categories
    (``2023.0`` -> ``"2023"``, ``110000`` -> ``"110000"``)."""
    if isinstance(value, float | np.floating):
        if float(value).is_integer():
            return str(int(value))
        return repr(float(value))
    return str(value).strip()


class Margins:
    """Marginal population targets for raking.

    Args:
        table: DataFrame with columns ``variable, category, target`` and optionally ``wave``
            (an empty wave applies to every wave); ``source_note``/``note`` are ignored.
        source: where the table came from, for messages (a file name).
    """

    def __init__(self, table: pd.DataFrame, source: str = "margins"):
        self.source = source
        missing = [c for c in REQUIRED if c not in table.columns]
        if missing:
            raise AnalysisInputError(
                f"{source}: missing column '{missing[0]}' (need variable,category,target)")
        extra = [c for c in table.columns if c not in (*REQUIRED, "wave", *IGNORED)]
        if extra:
            raise AnalysisInputError(f"{source}: unexpected column '{bounded(extra[0])}' "
                                     "(need variable,category,target and optionally wave)")
        if len(table) == 0:
            raise AnalysisInputError(f"{source}: no margins (the table is empty)")
        t = pd.DataFrame({
            "variable": [str(v).strip() for v in table["variable"]],
            "category": [category_label(v) for v in table["category"]],
        })
        target = pd.to_numeric(table["target"], errors="coerce").to_numpy(dtype=float)
        for i, (raw, num) in enumerate(zip(table["target"], target, strict=True)):
            if not np.isfinite(num):
                raise AnalysisInputError(
                    f"{source}: row {i + 2}: target '{bounded(raw)}' of "
                    f"{bounded(t.variable[i])}='{bounded(t.category[i])}' is not a number")
            if num < 0:
                raise AnalysisInputError(
                    f"{source}: row {i + 2}: target {bounded(raw)} of "
                    f"{bounded(t.variable[i])}='{bounded(t.category[i])}' is negative")
        t["target"] = target
        if "wave" in table.columns:
            t["wave"] = ["" if pd.isna(v) else category_label(v) for v in table["wave"]]
        else:
            t["wave"] = ""
        for col in ("variable", "category"):
            empty = t[col] == ""
            if empty.any():
                raise AnalysisInputError(
                    f"{source}: row {int(np.flatnonzero(empty)[0]) + 2}: empty {col}")
        dup = t.duplicated(["wave", "variable", "category"])
        if dup.any():
            r = t[dup].iloc[0]
            raise AnalysisInputError(f"{source}: {bounded(r.variable)}='{bounded(r.category)}' "
                                     "is given twice"
                                     + (f" for wave {r.wave}" if r.wave else ""))
        self.table = t.reset_index(drop=True)

    @classmethod
    def from_dict(cls, margins: dict[str, dict], source: str = "margins") -> Margins:
        """``{"sex": {"male": 0.49, "female": 0.51}, ...}`` -> Margins."""
        rows = [(v, c, t) for v, cats in margins.items() for c, t in cats.items()]
        return cls(pd.DataFrame(rows, columns=["variable", "category", "target"]), source)

    def __repr__(self) -> str:
        waves = self.waves
        w = f"; waves {', '.join(waves)}" if waves else ""
        return f"<Margins {', '.join(self.variables)}{w}>"

    @property
    def variables(self) -> list[str]:
        return list(dict.fromkeys(self.table["variable"]))

    @property
    def waves(self) -> list[str]:
        return sorted({w for w in self.table["wave"] if w})

    def for_wave(self, wave) -> Margins:
        """The margins that apply to ``wave``: rows for that wave, and rows without a wave for
        variables the wave does not give."""
        label = category_label(wave)
        t = self.table
        own = t[t.wave == label]
        generic = t[(t.wave == "") & ~t.variable.isin(set(own.variable))]
        rows = pd.concat([generic, own])
        if len(rows) == 0:
            raise AnalysisInputError(f"{self.source}: no margins for wave {label}")
        new = object.__new__(Margins)
        new.source = self.source
        new.table = rows.assign(wave="").reset_index(drop=True)
        return new

    def categories(self, var: str) -> list[str]:
        """The categories of ``var``, in file order (the order of :meth:`targets`)."""
        self.require_one_wave()
        return list(self.table.category[self.table.variable == var])

    def require_one_wave(self) -> None:
        if len(self.waves) > 1:
            raise AnalysisInputError(
                f"{self.source}: the margins give several waves ({', '.join(self.waves)}); "
                "rake each wave with its own margins")

    def targets(self, sample_size: float, rescale: bool = False) -> dict[str, pd.Series]:
        """Count targets per variable (category -> target), on one common total.

        Shares (a variable whose targets sum to 1) become counts of the common total of the
        count variables, or of ``sample_size`` when every variable is given as shares.
        """
        self.require_one_wave()
        out: dict[str, pd.Series] = {}
        totals: dict[str, float] = {}
        for var in self.variables:
            rows = self.table[self.table.variable == var]
            s = pd.Series(rows.target.to_numpy(), index=rows.category.to_numpy(), name=var)
            out[var] = s
            totals[var] = float(s.sum())
            if totals[var] <= 0:
                raise AnalysisInputError(f"{self.source}: the targets of '{var}' sum to 0")
        is_share = {v: abs(t - 1.0) <= SHARE_TOLERANCE for v, t in totals.items()}
        counts = [v for v in out if not is_share[v]]
        if counts:
            ref = totals[counts[0]]
            for v in counts[1:]:
                gap = abs(totals[v] / ref - 1.0)
                if gap > BASE_TOLERANCE and not rescale:
                    raise AnalysisInputError(
                        f"{self.source}: count targets are on different bases: '{counts[0]}' "
                        f"sums to {ref:.10g} but '{v}' to {totals[v]:.10g} "
                        f"({100 * gap:.2f}% apart, more than 0.1%); give shares or use "
                        "--rescale (rescale=True) to make every variable shares of one total")
            common = ref
        else:
            common = float(sample_size)
        # within tolerance (or rescaled): put every variable on the common total, otherwise
        # raking cannot meet all margins exactly
        return {v: s * (common / totals[v]) for v, s in out.items()}
