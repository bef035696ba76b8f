"""The published report: a tagged PDF/UA document (structure tree, language, title, figures with
alt text, the CJK font embedded), holding nothing internal — no file names or paths, no design
column names, no English sentences in the Chinese report (read back from the PDF with pdftotext
and from the HTML page, alt texts and labels included)."""

from __future__ import annotations

import re
import shutil
import subprocess
from html.parser import HTMLParser

import pytest
from pypdf import PdfReader

from analysis.report.fonts import NoCJKFontError, find_cjk_font
from analysis.report.render import write_report
from tests.accessibility import missing_tool
from tests.report.sample import sample_findings

try:
    find_cjk_font()
    NO_FONT = None
except NoCJKFontError as exc:  # pragma: no cover - depends on the machine
    NO_FONT = str(exc)

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(NO_FONT is not None, reason=f"no CJK font: {NO_FONT}")]

# An English word: letters (with inner hyphens/apostrophes), not part of a code such as N04_P1,
# 2.4.6 or base_weight. A run: three or more such words with only spaces or punctuation between.
WORD = r"(?<![\w.'’-])[A-Za-z][A-Za-z'’-]*(?![\w'’-])"
ENGLISH_RUN = re.compile(WORD + r"(?:[\s,;:()/&]+" + WORD + r"){2,}")
ALLOWED_WORDS = {"p", "n", "CI", "SE"}
"""English a Chinese report may use: the statistical symbols. Anything else is translated."""
PATH = re.compile(r"(?:^|[\s(（：:“\"'])((?:/[\w.+-]+){2,}/?|[A-Za-z]:\\[\w\\. -]+)")
DATA_FILE = re.compile(r"[\w.-]+\.(?:csv|parquet|sav|dta|xlsx|ya?ml|ttc|ttf|otf)\b", re.I)
IDENTIFIER = re.compile(r"(?<![\w.])[a-z]+(?:_[a-z]+)+(?![\w.])")  # base_weight, source_note


def english_runs(text: str) -> list[str]:
    runs = (" ".join(m.group(0).split()) for m in ENGLISH_RUN.finditer(text))
    return [r for r in runs if not set(re.findall(r"[A-Za-z][A-Za-z'’-]*", r)) <= ALLOWED_WORDS]


def internal_values(text: str, design_columns) -> list[str]:
    """Paths, file names, identifiers and design column names found in ``text``."""
    found = [m.group(1) for m in PATH.finditer(text)]
    found += DATA_FILE.findall(text) + IDENTIFIER.findall(text)
    found += [c for c in design_columns if re.search(rf"(?<![\w]){re.escape(c)}(?![\w])", text)]
    return found


class _Text(HTMLParser):
    """What a reader (or a screen reader) gets from the page: text, alt texts, labels, title."""

    def __init__(self):
        super().__init__()
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("style", "script"):
            self._hidden += 1
        self.parts += [v for k, v in attrs if k in ("alt", "aria-label", "title") and v]

    def handle_endtag(self, tag):
        if tag in ("style", "script"):
            self._hidden -= 1

    def handle_data(self, data):
        if not self._hidden:
            self.parts.append(data)


def html_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return "\n".join(parser.parts)


def pdf_text(path) -> str:
    if not shutil.which("pdftotext"):
        missing_tool("report tests need pdftotext (Debian's poppler-utils)")
    return subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    """The sample report: PDF and HTML page in both languages."""
    tmp = tmp_path_factory.mktemp("published")
    findings = sample_findings()
    out = {"findings": findings}
    for lang in ("zh", "en"):
        out[f"{lang}_pdf"] = write_report(findings, tmp / f"report-{lang}.pdf", lang=lang).path
    for lang in ("zh", "en"):
        out[f"{lang}_html"] = write_report(findings, tmp / f"report-{lang}.html", lang=lang).path
    return out


def test_checks_catch_what_the_old_report_showed():
    old = ("数据 responses.csv 资料来源：responses.csv；中文字体：Noto Sans CJK SC "
           "(/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc)（分层：stratum；权重：base_weight）")
    assert [r[:16] for r in english_runs(old)] == ["Noto Sans CJK SC"]
    found = internal_values(old, ["stratum", "base_weight"])
    assert "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc" in found
    assert {"responses.csv", "base_weight", "stratum"} <= set(found)
    assert english_runs("N04_P1 p < 0.001，95% CI，n = 2,821；numpy 2.4.6、pandas 3.1.1") == []


def test_chinese_pdf_has_nothing_internal(reports):
    text = pdf_text(reports["zh_pdf"])
    assert "选择低碳出行" in text  # the text was read
    design = [c for c in reports["findings"].design.values() if c]
    assert internal_values(text, design) == []
    assert english_runs(text) == []


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_html_has_nothing_internal(reports, lang):
    text = html_text(reports[f"{lang}_html"].read_text(encoding="utf-8"))
    design = [c for c in reports["findings"].design.values() if c]
    assert internal_values(text, design) == []
    if lang == "zh":
        assert english_runs(text) == []


def structure_elements(reader: PdfReader) -> list:
    """Every element of the PDF's structure tree, depth first."""
    out, stack = [], [reader.trailer["/Root"]["/StructTreeRoot"]]
    while stack:
        node = stack.pop().get_object()
        if "/S" in node:
            out.append(node)
        kids = node.get("/K")
        kids = kids if isinstance(kids, list) else [kids]
        stack += [k for k in reversed(kids) if hasattr(k, "get_object")
                  and hasattr(k.get_object(), "get")]
    return out


@pytest.mark.parametrize("lang, pdf_lang", [("zh", "zh-CN"), ("en", "en")])
def test_pdf_is_tagged_pdf_ua(reports, lang, pdf_lang):
    reader = PdfReader(reports[f"{lang}_pdf"])
    root = reader.trailer["/Root"]
    assert "/StructTreeRoot" in root, "not a tagged PDF"
    assert bool(root["/MarkInfo"]["/Marked"])
    assert root["/Lang"] == pdf_lang
    survey = reports["findings"].survey_title[lang]
    assert reader.metadata.title.startswith(survey)
    assert bool(root["/ViewerPreferences"]["/DisplayDocTitle"])  # title, not file name
    xmp = root["/Metadata"].get_object().get_data().decode("utf-8")
    assert 'pdfuaid:part="1"' in xmp and survey in xmp

    elements = structure_elements(reader)
    tags = [str(e["/S"]) for e in elements]
    assert tags.count("/H1") == 1 and {"/H2", "/H3", "/H4"} <= set(tags)
    assert {"/Table", "/TH", "/TD", "/Caption", "/L", "/LI"} <= set(tags)
    # every data cell is tied to its header cells; every chart has its alt text
    cells = [e for e in elements if e["/S"] == "/TD"]
    assert cells and all(e["/A"].get("/Headers") for e in cells)
    figures = [e for e in elements if e["/S"] == "/Figure"]
    # index trend, overview, index by subgroup, and two charts per norm
    assert len(figures) == 3 + 2 * len(reports["findings"].norms)
    assert all(str(e.get("/Alt", "")).strip() for e in figures)
    headings = [e for e in elements if e["/S"] == "/H3"]
    assert len(headings) >= len(reports["findings"].norms)


def test_pdf_still_embeds_the_cjk_font(reports):
    if not shutil.which("pdffonts"):
        missing_tool("report tests need pdffonts (Debian's poppler-utils)")
    fonts = subprocess.run(["pdffonts", str(reports["zh_pdf"])], capture_output=True,
                           text=True, check=True).stdout
    cjk = [line for line in fonts.splitlines() if "CJK" in line]
    assert cjk and all(" yes yes yes " in line for line in cjk), fonts  # embedded subset, unicode
