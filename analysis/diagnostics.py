"""Weighting diagnostics a statistician asks for with every weighted figure.

Kish's design effect due to unequal weighting, ``deff_w = n * sum(w^2) / sum(w)^2``, and the
effective sample size ``n_eff = sum(w)^2 / sum(w^2) = n / deff_w`` (Kish 1965, section 11.7):
the number of equally weighted responses that would give the same precision for a mean if the
weights were unrelated to the answers. They say how much precision the weighting costs, apart
from clustering and stratification (which the estimators' ``deff`` column includes).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["WeightDiagnostics", "weight_diagnostics"]


@dataclass(frozen=True)
class WeightDiagnostics:
    """Summary of one set of final weights.

    Attributes:
        n: number of weights (responses).
        weight_sum, weight_min, weight_max: of the weights.
        ratio: ``weight_max / weight_min`` (inf when a weight is 0).
        kish_deff: Kish's design effect due to weighting, ``n * sum(w^2) / sum(w)^2`` (1 for
            equal weights).
        n_effective: effective sample size, ``sum(w)^2 / sum(w^2)``.
        n_trimmed: weights held at a trimming bound (0 when no trimming was applied).
    """

    n: int
    weight_sum: float
    weight_min: float
    weight_max: float
    ratio: float
    kish_deff: float
    n_effective: float
    n_trimmed: int = 0

    def __str__(self) -> str:
        s = (f"{self.n} responses, effective sample size {self.n_effective:.1f} (Kish design "
             f"effect of weighting {self.kish_deff:.3f}); weights {self.weight_min:.4g} to "
             f"{self.weight_max:.4g} (ratio {self.ratio:.3g})")
        if self.n_trimmed:
            s += f"; {self.n_trimmed} trimmed"
        return s

    def as_dict(self) -> dict[str, float | int]:
        return {"n": self.n, "weight_sum": self.weight_sum, "weight_min": self.weight_min,
                "weight_max": self.weight_max, "weight_ratio": self.ratio,
                "kish_deff": self.kish_deff, "n_effective": self.n_effective,
                "n_trimmed": self.n_trimmed}


def weight_diagnostics(weights, n_trimmed: int = 0) -> WeightDiagnostics:
    """Diagnostics of ``weights`` (non-negative, not all zero)."""
    w = np.asarray(weights, dtype=float)
    if w.size == 0:
        raise ValueError("no weights")
    total = float(w.sum())
    squares = float(np.dot(w, w))
    wmin, wmax = float(w.min()), float(w.max())
    ratio = wmax / wmin if wmin > 0 else float("inf")
    n_eff = total * total / squares if squares > 0 else float("nan")
    return WeightDiagnostics(n=int(w.size), weight_sum=total, weight_min=wmin, weight_max=wmax,
                             ratio=ratio, kish_deff=w.size / n_eff if n_eff else float("nan"),
                             n_effective=n_eff, n_trimmed=int(n_trimmed))
