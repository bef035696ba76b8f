"""A new wave from the console (the item bank's checklist or an XLSForm upload), its read-only
preview, and the wave commands' ``--org``: who may do it, what bad input looks like, and that
the created wave opens and serves respondents at /o/CODE/YEAR/."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import func, select

from questionnaires import load_item_bank, load_wave
from questionnaires.xlsform import export_xlsform
from survey.db import db
from survey.models import ACCOUNT_ACTIONS, AuditEvent, Response, Wave

from .conftest import csrf_from, sign_in
from .staff_tree import ROLES, build_tree, staff

EXAMPLE = (Path(__file__).resolve().parents[2] / "questionnaires" / "examples"
           / "ten_norms_local_module.xlsx")
CORE = sorted(load_wave(2026).items)


@pytest.fixture
def tree(app):
    build_tree(app)
    return app


def bilingual(name: str, zh: str, en: str) -> dict:
    return {f"{name}_zh": zh, f"{name}_en": en}


def valid_form(year: str = "2032", items=CORE) -> dict:
    return {
        "year": year, "opens": "2032-03-01", "closes": "2099-06-30",
        **bilingual("title", "四川调查", "Sichuan survey"),
        **bilingual("consent", "欢迎参加。\n\n自愿参与。", "Welcome.\n\nTaking part is voluntary."),
        **bilingual("study_organiser", "四川课题组", "The Sichuan team"),
        **bilingual("study_contact", "survey@example.org", "survey@example.org"),
        **bilingual("study_purpose", "了解情况。", "To learn how people act."),
        **bilingual("study_retention", "保存到2035年。", "Kept until 2035."),
        **bilingual("study_eligibility", "四川居民。", "Residents of Sichuan."),
        "items": list(items),
    }


def organiser(tree, code: str = "SC"):
    client = tree.test_client()
    sign_in(client, staff(tree, "organiser", code))
    return client


def wave_row(app, code: str, year: int) -> Wave | None:
    with app.app_context():
        return db.session.execute(select(Wave).where(
            Wave.organisation.has(code=code), Wave.year == year)).scalar_one_or_none()


def actions(app) -> list[str]:
    """The waves' events (the sign-ins are account events: test_account_audit.py)."""
    with app.app_context():
        return list(db.session.execute(select(AuditEvent.action).where(
            AuditEvent.action.not_in(ACCOUNT_ACTIONS)).order_by(AuditEvent.id)).scalars())


# --------------------------------------------------------------------------- who may


@pytest.mark.parametrize("role", ROLES)
def test_only_an_organiser_of_the_organisation_may_create_a_wave(tree, role):
    client = tree.test_client()
    sign_in(client, staff(tree, role))  # a member of SC
    for target in ("SC", "CD", "HB"):  # own, child, sibling
        allowed = role == "organiser" and target == "SC"
        page = client.get(f"/console/{target}/new-wave")
        assert page.status_code == (200 if allowed else 403), (role, target)
        created = client.post(f"/console/{target}/new-wave", data=valid_form())
        assert created.status_code == (303 if allowed else 403), (role, target)
        uploaded = client.post(f"/console/{target}/new-wave/xlsform", data={
            "upload_year": "2033", "form_file": (EXAMPLE.open("rb"), "form.xlsx")})
        assert uploaded.status_code == (303 if allowed else 403), (role, target)
        preview = client.get(f"/console/{target}/2031/preview")
        assert preview.status_code == (200 if allowed else 403), (role, target)
    assert client.get("/console/nowhere/new-wave").status_code == 404


def test_anonymous_visitors_never_reach_the_form_or_the_preview(tree):
    client = tree.test_client()
    for url in ("/console/SC/new-wave", "/console/SC/2031/preview?page=1"):
        page = client.get(url)
        assert page.status_code == 303 and "/login" in page.headers["Location"]
    assert client.post("/console/SC/new-wave", data=valid_form()).status_code == 303
    assert wave_row(tree, "SC", 2032) is None


def test_the_form_needs_the_csrf_token(make_app):
    from .staff_tree import build_tree as build

    app = make_app(install=False, WTF_CSRF_ENABLED=True)
    with app.app_context():
        db.create_all()
    build(app)
    client = app.test_client()
    email = staff(app, "organiser")
    login = client.get("/login")
    client.post("/login", data={"email": email, "password": "correct horse battery staple",
                                "csrf_token": csrf_from(login.text)})
    refused = client.post("/console/SC/new-wave?lang=en", data=valid_form())
    assert refused.status_code == 400 and "The form had expired" in refused.text
    assert 'value="Sichuan survey"' in refused.text  # what was typed stays
    assert wave_row(app, "SC", 2032) is None
    token = csrf_from(client.get("/console/SC/new-wave").text)
    created = client.post("/console/SC/new-wave", data={**valid_form(), "csrf_token": token})
    assert created.status_code == 303


# --------------------------------------------------------------------------- the checklist


def test_the_checklist_groups_the_bank_by_norm_with_the_national_core_chosen(tree):
    page = organiser(tree).get("/console/SC/new-wave?lang=en").text
    assert page.count('type="checkbox" name="items"') == len(load_item_bank().definitions)
    for code in CORE:
        assert f'id="item-{code}" value="{code}" checked' in page, code
    assert "<legend>About you</legend>" in page
    assert page.index("item-N01_A1") < page.index("item-N02_A1") < page.index("item-ATTN1")
    zh = organiser(tree, "HB").get("/console/HB/new-wave?lang=zh").text
    assert "<legend>关于您</legend>" in zh and "新的调查轮次" in zh


def test_a_created_wave_opens_and_serves_respondents(tree):
    client = organiser(tree)
    created = client.post("/console/SC/new-wave", data=valid_form())
    assert created.status_code == 303 and created.headers["Location"] == "/console/SC/2032/"
    row = wave_row(tree, "SC", 2032)
    assert row.status == "draft" and str(row.opens) == "2032-03-01"
    assert actions(tree) == ["create_wave"]
    page = client.get("/console/SC/2032/?lang=en").text
    assert "Preview the respondents&#39; pages" in page or "Preview the respondents' pages" in page
    assert "loaded the questionnaire" in client.get("/console/SC/?lang=en").text
    assert wave_row(tree, "national", 2032) is None  # nobody else's wave

    respondent = tree.test_client()
    assert respondent.get("/o/SC/2032/").status_code == 200  # says when it opens
    assert respondent.post("/o/SC/2032/consent").status_code != 303
    opened = client.post("/console/SC/2032/open", data={"opens": "", "closes": ""})
    assert opened.status_code == 303
    start = respondent.post("/o/SC/2032/consent")
    assert start.status_code == 303 and start.headers["Location"] == "/o/SC/2032/page/about_you"
    first = respondent.get(start.headers["Location"])
    assert first.status_code == 200 and 'name="sex"' in first.text
    assert actions(tree) == ["create_wave", "open_wave"]


def test_bad_input_is_shown_next_to_its_field_with_what_was_typed(tree):
    client = organiser(tree)
    cases = [
        ({"year": "20x7"}, "year", "Give the year as four digits"),
        ({"closes": "30/06/2099"}, "closes", "bad date '30/06/2099' (write YYYY-MM-DD)"),
        ({"opens": "2099-07-01"}, "opens", "is after closes"),
        ({"title_en": " "}, "title", "missing en translation"),
        ({"study_contact_zh": ""}, "study_contact", "missing zh translation"),
        ({"items": ["N01_A1", "N99_P1"]}, "items", "unknown item code"),
        ({"items": []}, "items", "Choose at least one question."),
    ]
    for change, field, message in cases:
        form = {**valid_form(), **change}
        page = client.post("/console/SC/new-wave?lang=en", data=form)
        assert page.status_code == 400, change
        assert f'<p class="field-error" id="{field}-error">' in page.text, (change, page.text)
        error = page.text.split(f'id="{field}-error">', 1)[1].split("</p>", 1)[0]
        assert message in error.replace("&#39;", "'"), (change, error)
        assert 'role="alert"' in page.text and f'href="#field-{field}"' in page.text
        assert 'value="Sichuan survey"' in page.text or field == "title"
    zh = client.post("/console/SC/new-wave?lang=zh", data={**valid_form(), "year": "x"})
    assert "请用四位数字填写年份" in zh.text
    assert wave_row(tree, "SC", 2032) is None and actions(tree) == []


def test_a_wave_with_responses_keeps_its_questionnaire(tree):
    client = organiser(tree)
    already_open = {**valid_form(year="2031"), "opens": "2020-01-01"}
    assert client.post("/console/SC/new-wave", data=already_open).status_code == 303
    assert actions(tree) == ["create_wave"]  # 2031 had no responses: replaced
    respondent = tree.test_client()
    assert respondent.post("/o/SC/2031/consent").status_code == 303
    refused = client.post("/console/SC/new-wave?lang=en",
                          data={**already_open, "items": CORE[:5]})
    assert refused.status_code == 400 and "already has 1 responses" in refused.text


# --------------------------------------------------------------------------- the upload


def test_an_uploaded_xlsform_becomes_the_organisations_wave(tree):
    client = organiser(tree)
    created = client.post("/console/SC/new-wave/xlsform", data={
        "upload_year": "2033", "form_file": (EXAMPLE.open("rb"), "ten_norms.xlsx")})
    assert created.status_code == 303, created.text
    with tree.app_context():
        row = db.session.execute(select(Wave).where(
            Wave.organisation.has(code="SC"), Wave.year == 2033)).scalar_one()
        # local items get the organisation's code as their prefix
        assert '"SC_DEMO_recycling_station"' in row.questionnaire.definition
        assert row.questionnaire.source == "XLSForm ten_norms.xlsx"
    preview = client.get("/console/SC/2033/preview?page=99&lang=en")
    assert preview.status_code == 200 and "Preview" in preview.text


def _macro_workbook(tmp_path) -> bytes:
    good = export_xlsform(load_wave(2025), tmp_path / "2025.xlsx")
    buffer = io.BytesIO()
    with zipfile.ZipFile(good) as source, zipfile.ZipFile(buffer, "w") as target:
        for name in source.namelist():
            target.writestr(name, source.read(name))
        target.writestr("xl/vbaProject.bin", b"\xd0\xcf\x11\xe0 macro project")
    return buffer.getvalue()


def test_hostile_and_oversized_uploads_are_refused_next_to_the_file_field(tree, tmp_path):
    client = organiser(tree)
    cases = [
        (_macro_workbook(tmp_path), "macros.xlsx", "contains macros (vbaProject.bin)"),
        (b"PK\x03\x04 not really", "broken.xlsx", "not an .xlsx workbook"),
        (b"MZ\x90\x00", "tool.exe", "not an .xlsx file"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "old.xls", "not an .xlsx file"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "renamed.xlsx", "Excel 97-2003"),
    ]
    for data, name, message in cases:
        page = client.post("/console/SC/new-wave/xlsform?lang=en", data={
            "upload_year": "2033", "form_file": (io.BytesIO(data), name)})
        assert page.status_code == 400, name
        error = page.text.split('id="form_file-error">', 1)[1].split("</p>", 1)[0]
        assert message in error and "/tmp" not in error, (name, error)
    tree.config["XLSFORM_UPLOAD_BYTES"] = 1024
    big = client.post("/console/SC/new-wave/xlsform?lang=en", data={
        "upload_year": "2033", "form_file": (io.BytesIO(b"PK" + b"0" * 200_000), "big.xlsx")})
    assert big.status_code == 413 and "The file is larger than 1 KiB." in big.text
    missing = client.post("/console/SC/new-wave/xlsform?lang=en", data={"upload_year": "2033"})
    assert missing.status_code == 400 and 'id="form_file-error"' in missing.text
    assert wave_row(tree, "SC", 2033) is None and actions(tree) == []


# --------------------------------------------------------------------------- the preview


def test_the_preview_shows_every_page_and_stores_nothing(tree):
    client = organiser(tree)
    assert client.post("/console/SC/new-wave", data=valid_form()).status_code == 303
    consent = client.get("/console/SC/2032/preview?lang=en")
    assert consent.status_code == 200 and "Taking part is voluntary." in consent.text
    assert "Nothing you choose here is saved or sent." in consent.text
    first = client.get("/console/SC/2032/preview?page=1&lang=en").text
    assert 'name="sex"' in first and "/o/SC/2032/" not in first  # nothing posts anywhere
    assert "?page=2" in first and "?page=0" in first
    for odd in ("-1", "x", "99999"):
        assert client.get(f"/console/SC/2032/preview?page={odd}").status_code == 200
    with tree.app_context():
        assert db.session.execute(select(func.count()).select_from(Response)).scalar() == 0
    assert client.post("/console/SC/2032/preview").status_code == 405


# --------------------------------------------------------------------------- --org commands


def invoke(app, *args):
    result = app.test_cli_runner().invoke(args=[str(a) for a in args])
    assert "Traceback" not in result.output
    return result


def test_wave_commands_address_another_organisations_wave(tree, tmp_path):
    loaded = invoke(tree, "load-questionnaire", "2026", "--org", "HB")
    assert loaded.exit_code == 0 and "Wave 2026 of HB: questionnaire loaded" in loaded.output
    assert wave_row(tree, "national", 2026) is None
    opened = invoke(tree, "open-wave", "2026", "--org", "HB", "--closes", "2099-12-31")
    assert opened.exit_code == 0, opened.output
    assert tree.test_client().get("/o/HB/2026/").status_code == 200
    out = tmp_path / "hb.csv"
    exported = invoke(tree, "export", "--wave", "2026", "--org", "HB", "--out", out)
    assert exported.exit_code == 0 and "wave 2026 of HB" in exported.output and out.exists()
    closed = invoke(tree, "close-wave", "2026", "--org", "HB")
    assert closed.exit_code == 0 and wave_row(tree, "HB", 2026).status == "closed"
    # without --org: the default organisation, as before
    assert invoke(tree, "close-wave", "2031").exit_code == 0
    assert wave_row(tree, "national", 2031).status == "closed"
    assert wave_row(tree, "SC", 2031).status == "open"
    imported = invoke(tree, "import-xlsform", EXAMPLE, "--year", 2034, "--org", "DEMO",
                      "--wave-org", "CD")
    assert imported.exit_code == 0, imported.output
    assert wave_row(tree, "CD", 2034) is not None and wave_row(tree, "national", 2034) is None


@pytest.mark.parametrize("command", [
    ["load-questionnaire", "2026", "--org"], ["open-wave", "2031", "--org"],
    ["close-wave", "2031", "--org"], ["export", "--wave", "2031", "--out", "x.csv", "--org"],
    ["import-xlsform", str(EXAMPLE), "--year", "2034", "--org", "DEMO", "--wave-org"],
    ["export-xlsform", "2031", "--frozen", "--out", "x.xlsx", "--org"]])
def test_an_unknown_organisation_is_one_error_line(tree, command):
    result = invoke(tree, *command, "nowhere")
    assert result.exit_code == 1
    assert result.output == (f"Error: {command[-1]} 'nowhere': there is no such organisation "
                             "(create it with: flask --app survey create-org nowhere …)\n")


def test_a_missing_wave_of_an_organisation_says_how_to_load_it(tree):
    assert invoke(tree, "open-wave", "2040", "--org", "SC").output == (
        "Error: there is no wave 2040 of SC; load its questionnaire first (flask --app survey "
        "load-questionnaire questionnaires/waves/2040.yaml --org SC)\n")
