"""Find a system CJK font for reports and make matplotlib use it.

Reports must show Chinese on any reader, so the font has to travel inside the PDF: WeasyPrint embeds
(subsets of) every font it uses, including for the text of the SVG charts, which the PDF path
writes as ``<text>`` in this font (``svg.fonttype = "none"``). The HTML report's charts carry
their text as outlines (``svg.fonttype = "path"``), so they need no font on the reader's side.

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

CHINESE_NAMES = {
    "Noto Sans CJK SC": "思源黑体",  # the same design as Source Han Sans
    "Source Han Sans SC": "思源黑体",
    "Source Han Sans CN": "思源黑体",
    "Noto Serif CJK SC": "思源宋体",
    "Source Han Serif SC": "思源宋体",
    "Source Han Serif CN": "思源宋体",
    "WenQuanYi Zen Hei": "文泉驿正黑",
    "WenQuanYi Micro Hei": "文泉驿微米黑",
}
"""What a Chinese reader calls each family (a Chinese report names no font in English)."""


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
        """Family and file, for the command's log line (never for the report: no paths there)."""
        return f"{self.family} ({self.path})"

    def display_name(self, lang: str) -> str:
        """The family as the report names it: its Chinese name in a Chinese report."""
        return CHINESE_NAMES.get(self.family, self.family) if lang == "zh" else self.family


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


def configure_matplotlib(font: CJKFont, svg_text: str = "path") -> None:
    """Use ``font`` for all chart text (falling back to DejaVu Sans for glyphs it lacks).

    ``svg_text="path"`` writes chart text as outlines: the SVG needs no font anywhere (used for the
    HTML report). ``"text"`` keeps real ``<text>`` elements naming ``font``: WeasyPrint typesets
    them with the same font it embeds for the page text, so the PDF stays self-contained, its
    chart labels are searchable, and drawing is about four times faster than outlines.
    """
    import matplotlib

    if svg_text not in ("path", "text"):
        raise ValueError(f"svg_text must be 'path' or 'text', got {svg_text!r}")
    matplotlib.rcParams["font.family"] = "sans-serif"
    matplotlib.rcParams["font.sans-serif"] = [font.family, "DejaVu Sans"]
    matplotlib.rcParams["svg.fonttype"] = "path" if svg_text == "path" else "none"
    matplotlib.rcParams["axes.unicode_minus"] = False
