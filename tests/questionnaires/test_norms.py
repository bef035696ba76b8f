"""The Ten Norms catalogue keeps both versions, their titles and the honest `missing` markers."""

import questionnaires as q


def test_versions_and_titles():
    norms = q.load_norms()
    assert list(norms.versions) == ["2018", "2023"]
    assert norms.versions["2018"].trial and not norms.versions["2023"].trial
    assert norms.versions["2023"].title["zh"] == "公民生态环境行为规范十条"
    assert norms.norm("N01").title("2018") == {
        "zh": "关注生态环境",
        "en": "Pay attention to the eco-environment",
    }
    assert norms.norm("N01").title("2023")["zh"] == "关爱生态环境"
    assert norms.norm("N09").title("2023")["zh"] == "参与环境监督"
    for code in norms.codes:
        for version in norms.versions:
            title = norms.norm(code).title(version)
            assert title["zh"] and title["en"]


def test_texts_keep_missing_markers():
    norms = q.load_norms()
    n02 = norms.norm("N02")
    assert "夏季不低于26度" in n02.text("2018")["zh"]
    assert "26" not in n02.text("2023")["zh"]
    assert "，" in n02.text("2023")["zh"] and "," not in n02.text("2023")["zh"]
    missing_2023 = {c for c in norms.codes if norms.norm(c).texts["2023"].missing}
    assert missing_2023 == {"N05", "N06", "N07", "N09", "N10"}
    assert {c for c in norms.codes if norms.norm(c).texts["2018"].missing} == {"N10"}
    n05 = norms.norm("N05").texts["2023"]
    assert n05.text == {"zh": "", "en": ""}
    assert "扔、乱放" in n05.text_as_found  # defective copy kept for reference only
    assert norms.norm("N09").texts["2023"].text_as_found.startswith("遵守生态环境法律法规")


def test_changed_between():
    norms = q.load_norms()
    changed = norms.changed_between("2018", "2023")
    assert [c.code for c in changed] == ["N01", "N02", "N03", "N05", "N06", "N07", "N08", "N09"]
    assert [c.code for c in norms.changed_between("2023", "2018")] == [c.code for c in changed]
    n02 = next(c for c in changed if c.code == "N02")
    assert not n02.title_changed and n02.text_changed and "26" in n02.note
    n09 = next(c for c in changed if c.code == "N09")
    assert n09.title_changed and n09.text_changed is None
    with_unknown = norms.changed_between("2018", "2023", include_unknown=True)
    assert "N10" in [c.code for c in with_unknown] and "N04" not in [c.code for c in with_unknown]
    assert norms.changed_between("2023", "2023") == ()
