"""Bad input gives one line naming the file, column, value and row, never a wrong number."""

import numpy as np
import pandas as pd
import pytest

from analysis import AnalysisInputError, check_answer_codes, check_wave_column
from analysis.io import read_margins, read_responses, response_columns

SCALE = {"N01_A1": [1, 2, 3, 4, 5, 9], "N01_P1": [1, 2, 3, 4, 5, 9]}


def err(fn, *args, **kwargs) -> str:
    with pytest.raises(AnalysisInputError) as exc:
        fn(*args, **kwargs)
    msg = str(exc.value)
    assert "\n" not in msg and len(msg) < 300
    return msg


# -- wave column -------------------------------------------------------------------------------

def test_wave_column_as_int64_years():
    for column in ([2024, 2025], [2024.0, 2025.0], ["2024", "2025"],
                   pd.array([2024, 2025], dtype="Int64")):
        years = check_wave_column(pd.DataFrame({"wave": column}), "responses.csv")
        assert years.dtype == np.int64 and years.tolist() == [2024, 2025]


@pytest.mark.parametrize(("value", "shown"), [
    (2025.5, "value 2025.5 "), ("abc", "value 'abc' "), (1e308, "value 1e+308 "),
    (np.inf, "value inf "), (-2025, "value -2025 "),
])
def test_wave_not_a_year(value, shown):
    frame = pd.DataFrame({"wave": pd.Series([2024, 2025, value, 2024], dtype=object)})
    msg = err(check_wave_column, frame, "responses.csv")
    assert msg.startswith("responses.csv: column 'wave', row 3: " + shown)
    assert "is not a wave year" in msg


@pytest.mark.parametrize("value", [np.nan, None, "", "  "])
def test_wave_missing(value):
    frame = pd.DataFrame({"wave": pd.Series([2024, value], dtype=object)})
    msg = err(check_wave_column, frame, "r.csv")
    assert msg == "r.csv: column 'wave', row 2: missing wave year"


def test_wave_column_absent_and_row_after_split():
    assert err(check_wave_column, pd.DataFrame({"x": [1]}), "r.csv") == "r.csv: no column 'wave'"
    frame = pd.DataFrame({"wave": [2024.0, 2025.0, 2025.5]}).iloc[1:]
    assert "row 3:" in err(check_wave_column, frame, "r.csv")  # the file's row, not the part's


# -- answer codes ------------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "shown"), [
    (77, "77"), (-99, "-99"), (1e308, "1e+308"), (2.5, "2.5"), ("abc", "'abc'"), (0, "0"),
])
def test_answer_code_out_of_range(value, shown):
    col = [1, 2, None, 5] * 5
    col[16] = value
    frame = pd.DataFrame({"N01_A1": pd.Series(col, dtype=object), "N01_P1": 1})
    assert err(check_answer_codes, frame, SCALE, "responses.csv") == (
        f"responses.csv: column 'N01_A1', row 17: value {shown} is not an answer code of this "
        "item (1-5, 9)")


@pytest.mark.parametrize("dtype", ["float64", "Int64", "int64"])
def test_answer_codes_in_every_dtype(dtype):
    good = pd.DataFrame({"N01_A1": [1, 2, 9, 5], "N01_P1": [3, 3, 3, 3]}).astype(dtype)
    if dtype != "int64":
        good.loc[1, "N01_A1"] = None
    out, counts = check_answer_codes(good, SCALE, "r.csv")
    assert out is good and counts == {}
    bad = good.copy()
    bad.loc[3, "N01_P1"] = 77
    assert "column 'N01_P1', row 4: value 77 " in err(check_answer_codes, bad, SCALE, "r.csv")


def test_recode_invalid_sets_missing_and_counts():
    frame = pd.DataFrame({
        "N01_A1": [1.0, 77.0, np.nan, 2.5, 9.0],
        "N01_P1": pd.array([1, -99, 3, 4, 1000], dtype="Int64"),
        "sex": ["m", "f", "m", "f", "m"],
    })
    out, counts = check_answer_codes(frame, SCALE, "r.csv", recode_invalid=True)
    assert counts == {"N01_A1": 2, "N01_P1": 2}
    assert out["N01_A1"].isna().tolist() == [False, True, True, True, False]
    assert out["N01_P1"].tolist()[0] == 1 and out["N01_P1"].isna().sum() == 2
    assert str(out["N01_P1"].dtype) == "Int64"
    assert frame.loc[1, "N01_A1"] == 77.0  # the caller's frame is not changed
    # a mean over the recoded column no longer includes 77
    assert out["N01_A1"].mean() == pytest.approx(5.0)


def test_text_codes_and_unlisted_columns():
    frame = pd.DataFrame({"N01_A1": ["1", "2", " ", None], "other": [77, 77, 77, 77]})
    out, counts = check_answer_codes(frame, {**SCALE, "N02_A1": [1, 2]}, "r.csv")
    assert counts == {} and out is frame


def test_long_text_value_is_bounded():
    frame = pd.DataFrame({"N01_A1": ["x" * 10_000]})
    assert "…" in err(check_answer_codes, frame, SCALE, "r.csv")


# -- CSV encodings -----------------------------------------------------------------------------

CITY_CSV = "wave,city,N01_A1\n2025,北京,3\n2025,上海,4\n2025,北京,5\n2025,广州,2\n"


def estimate_by_city(tmp_path, capsys, data):
    from analysis.cli import main

    out = tmp_path / "e.csv"
    code = main(["estimate", str(data), "--items", "N01_A1", "--by", "city", "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    table = pd.read_csv(out)
    return dict(zip(table.group.fillna(""), table.estimate, strict=True))


@pytest.mark.parametrize("encoding", ["gb18030", "gbk", "utf-8-sig", "utf-8"])
def test_csv_encodings_give_real_strings(tmp_path, capsys, encoding):
    data = tmp_path / "responses.csv"
    data.write_bytes(CITY_CSV.encode(encoding))
    frame = read_responses(data)
    assert list(frame.columns) == ["wave", "city", "N01_A1"]
    assert frame.city.tolist() == ["北京", "上海", "北京", "广州"]
    assert response_columns(data) == ["wave", "city", "N01_A1"]
    groups = estimate_by_city(tmp_path, capsys, data)
    assert groups["北京"] == pytest.approx(4.0) and groups["广州"] == pytest.approx(2.0)
    assert not any("b'" in g for g in groups)


def test_chinese_header_in_gbk(tmp_path):
    data = tmp_path / "r.csv"
    data.write_bytes("wave,城市,N01_A1\n2025,北京,3\n".encode("gbk"))
    assert response_columns(data) == ["wave", "城市", "N01_A1"]
    assert read_responses(data, columns=["城市"])["城市"].tolist() == ["北京"]


def test_csv_neither_utf8_nor_gb18030(tmp_path):
    data = tmp_path / "r.csv"
    data.write_bytes(b"wave,city\n2025,Z\xfcrich\n2025,x\x80\n")  # Latin-1 and a stray byte
    msg = err(read_responses, data)
    assert msg.startswith(f"{data}: not UTF-8 or GB18030/GBK text (byte 0xfc at offset 16)")


def test_margins_in_gbk_and_with_bom(tmp_path):
    text = "variable,category,target\ncity,北京,0.6\ncity,上海,0.4\n"
    for encoding in ("gbk", "utf-8-sig"):
        m = tmp_path / f"m-{encoding}.csv"
        m.write_bytes(text.encode(encoding))
        table = read_margins(m).table
        assert table.category.tolist() == ["北京", "上海"]


# -- malformed rows ----------------------------------------------------------------------------

@pytest.mark.parametrize(("body", "row", "line", "fields"), [
    ("2025,1,2\n2025,1\n2025,3,4\n", 2, 3, 2),         # a field short
    ("2025,1,2\n2025,1,2\n\n2025,3,4,5\n", 3, 5, 4),   # a field too many, after a blank line
    ('2025,"a\nb",2\n2025,1,2,3\n', 2, 4, 4),          # a quoted line break is one field
])
def test_ragged_row_is_named(tmp_path, body, row, line, fields):
    data = tmp_path / "r.csv"
    data.write_text("wave,city,N01_A1\n" + body)
    expected = (f"{data}: not a readable CSV file: row {row} (line {line}) has {fields} "
                "field(s) but the header has 3")
    assert err(read_responses, data) == expected
    gbk = tmp_path / "gbk.csv"
    gbk.write_bytes(("wave,城市,N01_A1\n" + body).encode("gbk"))
    assert f"row {row} (line {line})" in err(read_responses, gbk)
    margins = tmp_path / "m.csv"
    margins.write_text("variable,category,target\nsex,male,0.5\nsex,female\n")
    assert err(read_margins, margins).endswith("row 2 (line 3) has 2 field(s) but the header has 3")


def test_empty_and_header_only_files(tmp_path):
    for text, expected in [("", "the file is empty"), ("\n\n", "the file is empty"),
                           ("wave,N01_A1\n", "the file has a header but no rows")]:
        data = tmp_path / "r.csv"
        data.write_text(text)
        assert err(read_responses, data) == f"{data}: {expected}"


def test_cli_ragged_row_one_line(tmp_path, capsys):
    from analysis.cli import main

    data = tmp_path / "r.csv"
    data.write_text("wave,N01_A1\n2025,1\n2025\n")
    code = main(["estimate", str(data), "--items", "N01_A1", "--out", str(tmp_path / "e.csv")])
    stderr = capsys.readouterr().err
    assert code == 2 and stderr.count("\n") == 1
    assert "r.csv: not a readable CSV file: row 2 (line 3) has 1 field(s)" in stderr


# -- SPSS and Stata files ----------------------------------------------------------------------

def labelled_table():
    frame = pd.DataFrame({
        "wave": [2025.0, 2025.0, 2025.0, 2025.0],
        "sex": [1.0, 2.0, 2.0, np.nan],            # labels are the categories
        "education": [2.0, 5.0, 5.0, 2.0],          # labels are display texts
        "province": [110000.0, 310000.0, 110000.0, 440000.0],  # labels are names
        "city": ["北京", "上海", "", "北京"],
        "N01_A1": [1.0, 5.0, 9.0, np.nan],
    })
    labels = {
        "sex": {1: "male", 2: "female"},
        "education": {2: "小学", 5: "大专及以上"},
        "province": {110000: "北京市", 310000: "上海市", 440000: "广东省"},
        "N01_A1": {1: "从不", 5: "总是", 9: "不适用"},
    }
    return frame, labels


@pytest.mark.parametrize("suffix", [".sav", ".dta"])
def test_spss_and_stata_files(tmp_path, suffix):
    pyreadstat = pytest.importorskip("pyreadstat")
    frame, labels = labelled_table()
    path = tmp_path / f"responses{suffix}"
    write = pyreadstat.write_sav if suffix == ".sav" else pyreadstat.write_dta
    write(frame, path, variable_value_labels=labels)
    data = read_responses(path)
    assert response_columns(path) == list(frame.columns)
    assert data.sex.tolist()[:3] == ["male", "female", "female"] and pd.isna(data.sex[3])
    assert data.education.tolist() == [2, 5, 5, 2]         # codes: "小学" is not a category
    assert data.province.tolist() == [110000, 310000, 110000, 440000]
    assert data.city.tolist()[:2] == ["北京", "上海"] and pd.isna(data.city[2])
    assert str(data.N01_A1.dtype) == "Int64" and data.N01_A1.tolist()[:3] == [1, 5, 9]
    assert read_responses(path, columns=["sex"]).columns.tolist() == ["sex"]
    assert "unknown column 'nope'" in err(read_responses, path, columns=["nope"])


def test_spss_file_rakes_on_its_labels(tmp_path, capsys):
    pyreadstat = pytest.importorskip("pyreadstat")
    frame, labels = labelled_table()
    # N01_A1 offers no "not applicable" in wave 2025, so its 9 would be refused (one line, exit 2)
    frame = frame.dropna(subset=["sex"]).replace({"N01_A1": {9: 4}})
    path = tmp_path / "responses.sav"
    pyreadstat.write_sav(frame, path, variable_value_labels=labels)
    m = tmp_path / "m.csv"
    m.write_text("variable,category,target\nsex,male,0.5\nsex,female,0.5\n")
    from analysis.cli import main

    out = tmp_path / "e.csv"
    code = main(["estimate", str(path), "--items", "N01_A1", "--margins", str(m),
                 "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    assert pd.read_csv(out)["n"].iloc[0] == len(frame)


def test_damaged_spss_file(tmp_path):
    path = tmp_path / "r.sav"
    path.write_bytes(b"not an spss file at all")
    assert err(read_responses, path).startswith(f"{path}: not a readable SPSS file (")
    assert err(response_columns, path).startswith(f"{path}: not a readable SPSS file (")


# -- report plans ------------------------------------------------------------------------------

def plan_error(path) -> str:
    import time

    from analysis.report.plan import load_plan

    start = time.perf_counter()
    msg = err(load_plan, path)
    assert time.perf_counter() - start < 1.0
    assert msg.startswith(f"plan {path}: ")
    return msg


def test_plan_billion_laughs(tmp_path):
    lines = ["title: x", 'a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{k}: &a{k} [{','.join([f'*a{k - 1}'] * 10)}]" for k in range(1, 10)]
    path = tmp_path / "plan.yaml"
    path.write_text("\n".join(lines) + "\n# " + "-" * 5000 + "\n", encoding="utf-8")
    assert "YAML aliases expand the value at line" in plan_error(path)


def test_plan_deep_nesting_size_and_encoding(tmp_path):
    path = tmp_path / "plan.yaml"
    path.write_text("title: " + "{a: " * 10_000 + "1" + "}" * 10_000 + "\n", encoding="utf-8")
    assert "nesting deeper than 50 levels at line 1" in plan_error(path)
    path.write_text("title: x\n" + "# padding\n" * 110_000, encoding="utf-8")
    assert "more than the limit of 1 MiB" in plan_error(path)
    path.write_bytes("title: 公民生态环境行为规范\nlanguage: zh\n".encode("gbk"))
    assert "not UTF-8 text (byte 0xb9 at offset 7: invalid start byte)" in plan_error(path)


# -- margins that lack a data category ---------------------------------------------------------

def weighting_data(tmp_path, encoding="utf-8"):
    rows = ["wave,sex,city,N01_A1"] + [
        f"2025,{'male' if i % 3 else 'female'},{'北京' if i % 2 else '上海'},{1 + i % 5}"
        for i in range(30)]
    data = tmp_path / "responses.csv"
    data.write_bytes(("\n".join(rows) + "\n").encode(encoding))
    return data


def test_missing_category_is_reported_before_totals(tmp_path, capsys):
    from analysis import Margins, SurveyDesign
    from analysis.cli import main

    data = weighting_data(tmp_path)
    m = tmp_path / "margins.csv"
    # 'female' is missing, and the count totals disagree (1000 vs 1200)
    m.write_text("variable,category,target\ncity,北京,600\ncity,上海,600\nsex,male,1000\n")
    code = main(["weight", str(data), "--margins", str(m), "--out", str(tmp_path / "w.csv")])
    stderr = capsys.readouterr().err
    assert code == 2 and stderr.count("\n") == 1
    assert ("column 'sex': value 'female' is not a category of the margins for 'sex' (male) in "
            f"{m}; first in row 1 of the data") in stderr
    assert "different bases" not in stderr
    # the same through the API, margins built in code
    frame = read_responses(data)
    margins = Margins.from_dict({"city": {"北京": 600, "上海": 600}, "sex": {"male": 1000}})
    assert err(SurveyDesign(frame).rake, margins).endswith(
        "for 'sex' (male); first in row 1 of the data")


def test_margin_categories_list_is_bounded(tmp_path):
    from analysis import Margins, SurveyDesign

    frame = pd.DataFrame({"sex": ["male", "female", "x" * 5000]})
    margins = Margins.from_dict({"sex": {f"category-{k}": 1 for k in range(200)}})
    msg = err(SurveyDesign(frame).rake, margins)
    assert "…" in msg


def test_gbk_data_and_margins_rake(tmp_path, capsys):
    from analysis.cli import main

    data = weighting_data(tmp_path, "gbk")
    m = tmp_path / "margins.csv"
    m.write_bytes("variable,category,target\ncity,北京,0.7\ncity,上海,0.3\n".encode("gbk"))
    out = tmp_path / "w.csv"
    assert main(["weight", str(data), "--margins", str(m), "--out", str(out)]) == 0
    w = pd.read_csv(out)
    assert w.weight[w.city == "北京"].sum() == pytest.approx(0.7 * 30)


def test_workbook_is_refused_with_advice(tmp_path):
    book = tmp_path / "responses.xlsx"
    book.write_bytes(b"PK\x03\x04" + bytes(range(256)))
    assert err(read_responses, book) == (f"{book}: spreadsheet workbooks are not read; save the "
                                         "sheet as CSV UTF-8, or use the Parquet, SPSS or Stata "
                                         "export")
    assert "spreadsheet workbooks" in err(response_columns, book)


def test_default_answer_codes_for_item_named_columns():
    from analysis.validation import default_answer_codes

    columns = ["wave", "sex", "N01_A1", "N05_P12", "ATTN1", "N1_A1", "N01_A1_text"]
    assert default_answer_codes(columns) == {c: (1, 2, 3, 4, 5, 9)
                                             for c in ("N01_A1", "N05_P12", "ATTN1")}


def test_margins_messages_bound_values(tmp_path):
    m = tmp_path / "m.csv"
    m.write_text("variable,category,target\nsex,male,0.5\nsex,female," + "9" * 2000 + "x\n")
    msg = err(read_margins, m)
    assert msg.startswith(f"{m}: row 3: target '999") and "…" in msg


# -- every case through the command line: one line, exit 2 -------------------------------------

def bomb_plan() -> str:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{k}: &a{k} [{','.join([f'*a{k - 1}'] * 10)}]" for k in range(1, 10)]
    return "\n".join(lines) + "\n"


CLI_CASES = {
    # name: (file name, bytes, expected text in the one error line)
    "latin-1": ("r.csv", b"wave,N01_A1,city\n2025,3,Z\xfcrich\x80\n",
                "not UTF-8 or GB18030/GBK text (byte 0xfc at offset 25)"),
    "ragged": ("r.csv", b"wave,N01_A1\n2025,3\n2025,4,5\n",
               "row 2 (line 3) has 3 field(s) but the header has 2"),
    "empty": ("r.csv", b"", "r.csv: the file is empty"),
    "header only": ("r.csv", "wave,N01_A1\n".encode("gbk"),
                    "r.csv: the file has a header but no rows"),
    "damaged spss": ("r.sav", b"$FL2 and then nothing useful", "r.sav: not a readable SPSS file"),
    "workbook": ("r.xlsx", b"PK\x03\x04", "r.xlsx: spreadsheet workbooks are not read"),
}


@pytest.mark.parametrize("case", sorted(CLI_CASES))
def test_cli_bad_data_files(tmp_path, capsys, case):
    from analysis.cli import main

    name, content, expected = CLI_CASES[case]
    data = tmp_path / name
    data.write_bytes(content)
    for argv in (["estimate", str(data), "--items", "N01_A1", "--out", str(tmp_path / "e.csv")],
                 ["weight", str(data), "--margins", str(tmp_path / "m.csv"), "--out",
                  str(tmp_path / "w.csv")]):
        (tmp_path / "m.csv").write_text("variable,category,target\nsex,male,1\n")
        code = main(argv)
        stderr = capsys.readouterr().err
        assert code == 2 and stderr.count("\n") == 1 and "Traceback" not in stderr, stderr
        assert expected in stderr


@pytest.mark.parametrize(("text", "expected"), [
    (bomb_plan(), "YAML aliases expand the value at line"),
    ("title: " + "[" * 5000 + "]" * 5000 + "\n", "nesting deeper than 50 levels at line 1"),
    ("title: 十条\n".encode("gbk"), "not UTF-8 text (byte 0xcc at offset 9"),
])
def test_cli_bad_plan(tmp_path, capsys, text, expected):
    from analysis.cli import main

    plan = tmp_path / "plan.yaml"
    plan.write_bytes(text if isinstance(text, bytes) else text.encode())
    data = weighting_data(tmp_path)
    code = main(["report", str(data), "--plan", str(plan), "--out", str(tmp_path / "r.pdf")])
    stderr = capsys.readouterr().err
    assert code == 2 and stderr.count("\n") == 1 and len(stderr) < 300, stderr
    assert f"plan {plan}: " in stderr and expected in stderr


def test_parquet_text_stored_as_gbk_bytes(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "r.parquet"
    cities = [c.encode("gbk") for c in ("北京", "上海")] + [None]
    pq.write_table(pa.table({"wave": [2025, 2025, 2025], "city": pa.array(cities, pa.binary())}),
                   path)
    assert read_responses(path).city.tolist()[:2] == ["北京", "上海"]
    bad = [b"ok", None, b"x\x80\xff"]
    pq.write_table(pa.table({"wave": [2025] * 3, "city": pa.array(bad, pa.binary())}), path)
    assert err(read_responses, path).startswith(
        f"{path}: column 'city', row 3: text that is not UTF-8 or GB18030/GBK (b'x")
