"""Hostile and broken workbooks are refused with one message, before openpyxl parses them."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from questionnaires import load_wave
from questionnaires.xlsform import XLSFormError, export_xlsform, import_xlsform
from questionnaires.xlsform import workbook as workbook_module


@pytest.fixture(scope="module")
def good_form(tmp_path_factory) -> Path:
    return export_xlsform(load_wave(2025), tmp_path_factory.mktemp("form") / "2025.xlsx")


def _members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def _refused(path: Path, problem: str) -> XLSFormError:
    with pytest.raises(XLSFormError) as excinfo:
        import_xlsform(path, 2025)
    message = str(excinfo.value)
    assert message.startswith(f"{path}: "), message
    assert problem in message, message
    assert "\n" not in message and len(message) < 400
    return excinfo.value


def test_a_zip_bomb_member_is_refused_by_its_declared_size(tmp_path, good_form):
    members = _members(good_form)
    # 30 MiB of zeros: about 30 KB compressed, over the 20 MiB a part
    members["xl/worksheets/sheet1.xml"] = b"\0" * (30 << 20)
    path = _zip(tmp_path / "bomb.xlsx", members)
    assert path.stat().st_size < 1 << 20
    _refused(path, "refused as a possible zip bomb")


def test_a_highly_compressed_member_is_refused_by_its_ratio(tmp_path, good_form):
    members = _members(good_form)
    members["xl/worksheets/sheet1.xml"] = b" " * (4 << 20)  # 4 MiB, compresses ~1000 to 1
    _refused(_zip(tmp_path / "ratio.xlsx", members), "compressed more than 100 to 1")


def test_too_many_members(tmp_path, good_form):
    members = _members(good_form)
    members.update({f"xl/media/image{n}.png": b"x" for n in range(300)})
    _refused(_zip(tmp_path / "many.xlsx", members), "more than 200")


@pytest.mark.parametrize("declaration", [
    b'<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>',
    b'<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
    b'<!ENTITY xxe SYSTEM "http://example.org/">',
])
def test_xml_with_a_doctype_or_entity_is_refused(tmp_path, good_form, declaration):
    members = _members(good_form)
    sheet = members["xl/worksheets/sheet1.xml"]
    prolog, _, rest = sheet.partition(b"?>")
    members["xl/worksheets/sheet1.xml"] = prolog + b"?>" + declaration + rest
    _refused(_zip(tmp_path / "xxe.xlsx", members), "declares a DOCTYPE or XML entities")


def test_utf16_xml_is_refused(tmp_path, good_form):
    members = _members(good_form)
    members["xl/workbook.xml"] = members["xl/workbook.xml"].decode().encode("utf-16")
    _refused(_zip(tmp_path / "utf16.xlsx", members), "is not UTF-8 XML")


def test_a_macro_enabled_workbook_is_refused(tmp_path, good_form):
    members = _members(good_form)
    members["xl/vbaProject.bin"] = b"\xd0\xcf\x11\xe0 macro project"
    path = _zip(tmp_path / "macros.xlsm", members)
    _refused(path, "macro-enabled or binary workbook (.xlsm) is refused")
    # renamed to .xlsx, the macro project still gives it away
    renamed = path.with_name("macros.xlsx")
    path.rename(renamed)
    _refused(renamed, "contains macros (vbaProject.bin)")


def test_a_macro_enabled_content_type_is_refused(tmp_path, good_form):
    members = _members(good_form)
    members["[Content_Types].xml"] = members["[Content_Types].xml"].replace(
        b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
        b"application/vnd.ms-excel.sheet.macroEnabled.main+xml")
    _refused(_zip(tmp_path / "typed.xlsx", members), "macro-enabled (its content types say so)")


@pytest.mark.parametrize(("content", "problem"), [
    (b"type,name\nselect_one x,q\n", "not an .xlsx workbook (not a zip file)"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 500, "Excel 97-2003 (.xls)"),
    (b"PK\x03\x04 truncated", "damaged zip"),
])
def test_files_that_are_not_workbooks(tmp_path, content, problem):
    path = tmp_path / "form.xlsx"
    path.write_bytes(content)
    _refused(path, problem)


def test_a_zip_that_is_not_a_workbook(tmp_path):
    path = _zip(tmp_path / "other.xlsx", {"readme.txt": b"hello"})
    _refused(path, "cannot read the workbook")


def test_other_extensions_and_missing_files(tmp_path):
    (tmp_path / "form.csv").write_text("type,name\n")
    _refused(tmp_path / "form.csv", "not an .xlsx file")
    _refused(tmp_path / "absent.xlsx", "file not found")


def test_a_file_over_the_size_limit(tmp_path, good_form, monkeypatch):
    monkeypatch.setattr(workbook_module, "MAX_FILE_BYTES", 1000)
    _refused(good_form, "more than the limit")


def test_sheet_with_too_many_rows(tmp_path, monkeypatch):
    monkeypatch.setattr(workbook_module, "MAX_ROWS", 20)
    path = export_xlsform(load_wave(2025), tmp_path / "2025.xlsx")
    error = _refused(path, "more than 20 rows")
    assert error.sheet == "survey" and error.row == 21


def test_the_checked_bytes_are_what_openpyxl_parses(good_form):
    """openpyxl gets the bytes that were checked (no second read of a file that could
    change), and parses XML through defusedxml."""
    from openpyxl.xml import DEFUSEDXML

    assert DEFUSEDXML, "defusedxml is a dependency: openpyxl must parse through it"
    data = workbook_module._checked_bytes(good_form)
    assert zipfile.ZipFile(io.BytesIO(data)).testzip() is None


def _declare_size(data: bytes, member: str, size: int) -> bytes:
    """The zip ``data`` with ``member``'s uncompressed size declared as ``size`` (a lie)."""
    import struct

    out = bytearray(data)
    name = member.encode()
    for signature, size_at, name_at in ((b"PK\x03\x04", 22, 30), (b"PK\x01\x02", 24, 46)):
        start = 0
        while (start := out.find(signature, start)) != -1:
            if out[start + name_at:start + name_at + len(name)] == name:
                struct.pack_into("<I", out, start + size_at, size)
            start += 4
    return bytes(out)


def test_a_member_larger_than_it_declares_is_never_unpacked_beyond_it(tmp_path, good_form):
    """zipfile stops at the declared size (which the checks bound) and the CRC then fails."""
    members = _members(good_form)
    members["xl/worksheets/sheet1.xml"] = b" " * (64 << 20)
    path = _zip(tmp_path / "liar.xlsx", members)
    path.write_bytes(_declare_size(path.read_bytes(), "xl/worksheets/sheet1.xml", 2000))
    _refused(path, "damaged zip: Bad CRC-32")
