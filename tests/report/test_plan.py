"""The report plan: the example loads; every mistake names the file, the key and the value."""

from pathlib import Path

import pytest

from analysis.errors import AnalysisInputError
from analysis.report.plan import load_plan, plan_from_dict
from analysis.report.render import SECTIONS

EXAMPLE = Path(__file__).resolve().parents[2] / "analysis" / "report" / "example_plan.yaml"


def test_example_plan_loads_with_the_project_margins():
    plan = load_plan(EXAMPLE)
    assert plan.waves == (2024, 2025, 2026) and plan.current_wave == 2026
    assert plan.base_wave == 2025 and plan.language == "zh" and plan.min_n == 30
    assert plan.margins is not None and plan.margins.is_file()
    assert plan.design == {"weight": "base_weight", "strata": "stratum", "psu": "psu",
                           "fpc": None}
    assert plan.sections == SECTIONS
    assert 30 in plan.moe_sizes
    # the sources and caveats travel in the margins file; it rakes adults to adult targets only
    from analysis.io import read_margins

    assert read_margins(plan.margins).variables == ["sex", "age_group", "region"]


def test_defaults_and_language_override():
    plan = plan_from_dict({})
    assert plan.waves is None and plan.language == "zh" and plan.min_n == 30
    assert plan.adjustment == "holm" and plan.exclude_flagged and plan.subgroup_tests == "score"
    assert plan.subgroups is None  # the default variables DATA has
    assert plan.with_language("en").language == "en"
    with pytest.raises(AnalysisInputError, match="language 'fr'"):
        plan.with_language("fr")


def test_sections_can_be_switched_off():
    plan = plan_from_dict({"sections": {"norms": False, "table": False}})
    assert plan.sections == ("summary", "overview", "methodology")


@pytest.mark.parametrize("raw, message", [
    ({"waves": [2024, 2024]}, "a year is listed twice"),
    ({"waves": "2024"}, "waves: expected a list of survey years"),
    ({"waves": [2024, 2025], "current_wave": 2026}, "current_wave: 2026 is not one of waves"),
    ({"base_wave": 2026, "current_wave": 2025}, "base_wave 2026 must be earlier"),
    ({"language": "fr"}, "language 'fr' is not supported"),
    ({"min_n": 0}, "min_n: expected a whole number of at least 2, got 0"),
    ({"min_n": "30"}, "min_n"),
    ({"sections": {"appendix": True}}, "unknown section 'appendix'"),
    ({"sections": {"summary": "yes"}}, "sections.summary: expected true or false"),
    ({"design": {"weights": "w"}}, "design: unknown key 'weights'"),
    ({"design": {"psu": 3}}, "design.psu: expected a column name"),
    ({"adjustment": "bonferroni"}, "adjustment: 'bonferroni' is not one of holm, bh"),
    ({"alpha": 5}, "alpha: expected a significance level"),
    ({"subgroup_tests": "some"}, "subgroup_tests: 'some' is not one of"),
    ({"title": {"zh": "标题"}}, "title: expected both languages"),
    ({"colour": "red"}, "unknown key 'colour'"),
    ({"publisher": "Ministry"}, "publisher: expected both languages"),
    ({"citation": {"zh": "引用", "en": " "}}, "citation: expected both languages"),
    ({"contact": ["a@b"]}, "contact: expected a line of text"),
    ({"mode": "paper"}, "mode: 'paper' is not one of online_self_completion"),
    ({"sample_source": "random"}, "sample_source: 'random' is not one of opt_in"),
    ({"margins": "no-such-file.csv"}, "margins: file not found"),
])
def test_bad_plans_name_the_key(raw, message):
    with pytest.raises(AnalysisInputError, match="plan <test>") as exc:
        plan_from_dict(raw, source="<test>", base_dir=Path("/nonexistent"))
    assert message in str(exc.value)
    assert "\n" not in str(exc.value)


def test_one_wave_plan_and_publication_keys():
    plan = plan_from_dict({"waves": [2026], "publisher": {"zh": "某部", "en": "A ministry"},
                           "contact": " survey@example.org ",
                           "citation": {"zh": "引用", "en": "Cite"},
                           "mode": "mixed", "sample_source": "online_panel"})
    assert plan.waves == (2026,) and plan.contact == "survey@example.org"
    assert plan.publisher["en"] == "A ministry" and plan.citation["zh"] == "引用"
    assert (plan.mode, plan.sample_source) == ("mixed", "online_panel")
    default = plan_from_dict({})
    assert (default.mode, default.sample_source) == ("online_self_completion", "opt_in")
    assert default.publisher is None and default.contact is None


def test_bad_yaml_names_the_file(tmp_path):
    path = tmp_path / "plan.yaml"
    path.write_text("waves: [2024, 2025\n", encoding="utf-8")
    with pytest.raises(AnalysisInputError, match=r"plan .*plan.yaml: not valid YAML") as exc:
        load_plan(path)
    assert "\n" not in str(exc.value)
    path.write_text("- 2024\n", encoding="utf-8")
    with pytest.raises(AnalysisInputError, match="expected a mapping"):
        load_plan(path)
