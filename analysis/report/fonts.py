"""Find a system CJK font for reports and make matplotlib use it.

Reports must show Chinese on any reader, so the font has to travel inside the PDF: WeasyPrint embeds
(subsets of) every font it uses, and charts are written as SVG with text converted to paths
(``svg.fonttype = "path"``), so a chart needs no font at all on the reader's side.

The font is looked up by family name among the fonts matplotlib's font manager found on the system
(the same fontconfig directories WeasyPrint/Pango use), in :data:`PREFERRED_FAMILIES` order.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

PREFERRED_FAMILIES = (
    "Noto Sans CJK SC",
    "Source Han Sans SC",
    "Source Han Sans CN",
    "Noto Serif CJK SC",
    "Source Han Serif SC",
    "Source Han Serif CN",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
)
"""Simplified-Chinese families we accept, best first (Debian: fonts-noto-cjk, fonts-wqy-zenhei)."""


class NoCJKFontError(RuntimeError):
    """No CJK font is installed; the message says which packages provide one."""


@dataclass(frozen=True)
class CJKFont:
    family: str
    """Family name, as CSS ``font-family`` and matplotlib know it."""
    path: str
    """Font file (a ``.ttc`` collection holds several faces; ``index`` is the face)."""
    index: int = 0

    def describe(self) -> str:
        return f"{self.family} ({self.path})"


@lru_cache(maxsize=1)
def find_cjk_font() -> CJKFont:
    """Return the first installed family of :data:`PREFERRED_FAMILIES` (regular weight).

    Raises :class:`NoCJKFontError` when none is installed.
    """
    from matplotlib import font_manager

    by_name: dict[str, list] = {}
    for entry in font_manager.fontManager.ttflist:
        by_name.setdefault(entry.name, []).append(entry)
    for family in PREFERRED_FAMILIES:
        entries = by_name.get(family)
        if not entries:
            continue
        regular = min(entries, key=lambda e: (abs(_weight(e.weight) - 400), e.style != "normal"))
        return CJKFont(family=family, path=regular.fname, index=getattr(regular, "index", 0))
    raise NoCJKFontError(
        "no CJK font found (looked for: " + ", ".join(PREFERRED_FAMILIES) + "); install Debian's "
        "fonts-noto-cjk (or fonts-wqy-zenhei) so Chinese can be typeset and embedded"
    )


def _weight(value) -> int:
    if isinstance(value, int):
        return value
    names = {"light": 300, "normal": 400, "regular": 400, "medium": 500, "bold": 700}
    return names.get(str(value).lower(), 400)


def configure_matplotlib(font: CJKFont) -> None:
    """Use ``font`` for all chart text (falling back to DejaVu Sans for Latin glyphs it lacks) and
    write SVG text as paths, so charts render identically everywhere and need no font on the reader."""
    import matplotlib

    matplotlib.rcParams["font.family"] = "sans-serif"
    matplotlib.rcParams["font.sans-serif"] = [font.family, "DejaVu Sans"]
    matplotlib.rcParams["svg.fonttype"] = "path"
    matplotlib.rcParams["axes.unicode_minus"] = False
