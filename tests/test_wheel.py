"""The built wheel is the product: build it from the source tree, check what it carries, install it
with its dependencies into a fresh virtualenv and use it from there with the repository NOT on
``sys.path``: set a wave up with the researcher commands on a SQLite file in the installed
instance folder, render a questionnaire page in Chinese, and write an HTML report from synthetic
data with the shipped example plan.

About a minute: most of it is pip installing the dependencies (from its cache when warm). Marked
``slow``; ``pytest -m "not slow"`` leaves it out on a developer's machine. It never skips in CI.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import in_ci

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]

# what the installed packages read at run time, as globs relative to the repository
SHIPPED = (
    "survey/templates/**/*.html",
    "survey/static/*",
    "survey/translations/*/LC_MESSAGES/messages.po",
    "survey/translations/*/LC_MESSAGES/messages.mo",
    "survey/migrations/alembic.ini",
    "survey/migrations/script.py.mako",
    "survey/migrations/versions/*.py",
    "analysis/report/templates/*.html",
    "analysis/report/templates/*.css",
    "analysis/report/*.yaml",
    "analysis/data/*.csv",
    "questionnaires/catalogue/*.yaml",
    "questionnaires/catalogue/*.csv",
    "questionnaires/waves/*.yaml",
)
NOT_SHIPPED = ("tests/", "templates/", "benchmarks/", "docs/", "scripts/")

# run by the virtualenv's python from an empty folder: the app as a web worker would run it
SURVEY_PAGE = r"""
import json, re, sys
from pathlib import Path
from markupsafe import escape
import analysis, questionnaires, survey
from questionnaires import load_wave

installed = [Path(m.__file__).resolve() for m in (survey, analysis, questionnaires)]
wave = load_wave(Path(sys.argv[1]))
first_page = wave.pages[0]
item = first_page.items[0]
app = survey.create_app()
client = app.test_client()
landing = client.get("/", follow_redirects=True)
consent = client.get(f"/{wave.year}/consent")
token = re.search(r'name="csrf_token" value="([^"]+)"', consent.get_data(as_text=True)).group(1)
page = client.post(f"/{wave.year}/consent", data={"csrf_token": token}, follow_redirects=True)
html = page.get_data(as_text=True)
print(json.dumps({
    "installed": [str(p) for p in installed], "prefix": sys.prefix,
    "instance": app.instance_path, "statuses": [landing.status_code, page.status_code],
    "landing_has_title": str(escape(wave.title["zh"])) in landing.get_data(as_text=True),
    "page_has_item_text": str(escape(item.text["zh"])) in html,
    "page_is_chinese": '<html lang="zh-CN">' in html,
    "page_has_catalogue_text": "下一页" in html,
}))
"""


def _run(args, *, cwd, env, timeout=300) -> subprocess.CompletedProcess:
    result = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True,
                            text=True, timeout=timeout)
    assert result.returncode == 0, (
        f"{' '.join(map(str, args))} failed ({result.returncode}):\n"
        f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result


def _source_copy(target: Path) -> Path:
    """The files of the checkout (tracked, plus new ones not ignored), so a stale build/ or
    egg-info in the working tree never leaks into the wheel and the tree stays clean."""
    listing = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, capture_output=True, text=True)
    if listing.returncode == 0:
        for name in filter(None, listing.stdout.split("\0")):
            source = ROOT / name
            if source.is_file():
                (target / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target / name)
    else:  # not a git checkout (an unpacked sdist): everything but what a build leaves behind
        shutil.copytree(ROOT, target, dirs_exist_ok=True, ignore=shutil.ignore_patterns(
            ".git", ".venv", "build", "dist", "*.egg-info", "node_modules", "instance",
            "__pycache__", ".pytest_cache"))
    return target


def _clean_environment(tmp: Path) -> dict:
    """No PYTHONPATH (the repository must not be importable) and no Flask/DB settings of the
    caller's shell."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "DATABASE_URL", "SECRET_KEY",
                        "FLASK_APP", "RATELIMIT_STORAGE_URI", "TRUSTED_HOSTS")}
    env["HOME"] = os.environ.get("HOME", str(tmp))
    env["MPLCONFIGDIR"] = str(tmp / "mpl")
    return env


def _build_wheel(tmp: Path, env: dict) -> Path:
    source = _source_copy(tmp / "source")
    _run([sys.executable, "-m", "pip", "wheel", source, "--no-deps", "-q", "-w", tmp / "dist"],
         cwd=tmp, env=env)
    (wheel,) = (tmp / "dist").glob("ten_norms_survey-*.whl")
    return wheel


def _expected_files() -> set[str]:
    return {path.relative_to(ROOT).as_posix() for pattern in SHIPPED for path in ROOT.glob(pattern)
            if path.is_file()}


def _make_virtualenv(tmp: Path, env: dict) -> Path:
    venv = tmp / "venv"
    result = subprocess.run([sys.executable, "-m", "venv", venv], capture_output=True, text=True,
                            env=env, timeout=300)
    if result.returncode and "ensurepip" in result.stdout + result.stderr and not in_ci():
        pytest.skip("python -m venv cannot install pip here (Debian: apt install python3-venv)")
    assert result.returncode == 0, result.stdout + result.stderr
    return venv


def test_the_wheel_carries_its_data_and_runs_from_a_fresh_virtualenv(tmp_path):
    env = _clean_environment(tmp_path)
    work = tmp_path / "work"  # an empty folder: nothing of the repository beside the scripts
    work.mkdir()

    # 1. build; the wheel carries every template, stylesheet, catalogue and data file
    wheel = _build_wheel(tmp_path, env)
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = _expected_files()
    assert any(n.startswith("survey/templates/survey/") for n in expected)
    assert {"analysis/report/templates/report.css", "survey/translations/zh/LC_MESSAGES/"
            "messages.mo", "survey/translations/en/LC_MESSAGES/messages.mo"} <= expected
    assert not expected - names, f"missing from the wheel: {sorted(expected - names)}"
    assert not [n for n in names if n.startswith(NOT_SHIPPED)]
    # the table building the export and `survey-analysis --database` share
    assert {"response_table/__init__.py", "response_table/columns.py",
            "response_table/layout.py", "response_table/queries.py"} <= names

    # 2. a fresh virtualenv with the wheel and its dependencies
    venv = _make_virtualenv(tmp_path, env)
    bin_dir = venv / "bin"
    _run([bin_dir / "python", "-m", "pip", "install", "-q", wheel], cwd=work, env=env, timeout=600)

    # 3. the researcher commands, on the installed instance folder's SQLite file
    located = _run([bin_dir / "python", "-c",
                    "import importlib.resources as r, json; "
                    "waves = r.files('questionnaires') / 'waves'; "
                    "print(json.dumps(sorted(str(p) for p in waves.iterdir() "
                    "if p.name.endswith('.yaml'))))"], cwd=work, env=env)
    wave_file = Path(json.loads(located.stdout)[-1])
    assert wave_file.is_relative_to(venv), wave_file
    year = wave_file.stem
    flask = [bin_dir / "flask", "--app", "survey"]
    _run([*flask, "init-db"], cwd=work, env=env)
    loaded = _run([*flask, "load-questionnaire", wave_file], cwd=work, env=env)
    assert f"Wave {year}: questionnaire loaded" in loaded.stdout
    _run([*flask, "open-wave", year, "--closes", "2099-12-31"], cwd=work, env=env)

    # 4. a respondent sees the landing page and the first questionnaire page, in Chinese
    (work / "survey_page.py").write_text(SURVEY_PAGE, encoding="utf-8")
    seen = json.loads(_run([bin_dir / "python", "survey_page.py", wave_file], cwd=work,
                           env=env).stdout.strip().splitlines()[-1])
    assert all(Path(p).is_relative_to(seen["prefix"]) for p in seen["installed"]), seen
    assert Path(seen["instance"]).is_relative_to(venv)
    assert (Path(seen["instance"]) / "survey.sqlite").is_file()
    assert seen["statuses"] == [200, 200], seen
    assert seen["landing_has_title"] and seen["page_has_item_text"], seen
    assert seen["page_is_chinese"] and seen["page_has_catalogue_text"], seen

    # 5. an HTML report from synthetic data and the example plan shipped in the wheel
    plan = Path(_run([bin_dir / "python", "-c",
                      "import importlib.resources as r; "
                      "print(r.files('analysis.report') / 'example_plan.yaml')"],
                     cwd=work, env=env).stdout.strip())
    assert plan.is_relative_to(venv), plan
    _run([bin_dir / "python", "-m", "analysis.synthetic", "--waves", "2024,2025,2026",
          "--rows-per-wave", "400", "--seed", "3", "--out", work / "responses.csv"],
         cwd=work, env=env)
    _run([bin_dir / "survey-analysis", "report", work / "responses.csv", "--plan", plan,
          "--out", work / "report.html"], cwd=work, env=env, timeout=600)
    report = (work / "report.html").read_text(encoding="utf-8")
    assert '<html lang="zh-CN"' in report
    assert "@page" in report  # the stylesheet, inlined from analysis/report/templates/
    assert re.search(r"[\u4e00-\u9fff]{4}", report)
    assert "2026" in report and "N10" in report

    # 6. the analysis reads the installed instance's database (read-only): the wave is there,
    # without completed responses yet
    database = f"sqlite:///{Path(seen['instance']) / 'survey.sqlite'}"
    read = subprocess.run([str(bin_dir / "survey-analysis"), "estimate", "--database", database,
                           "--org", "national", "--waves", year, "--items", "N01_A1", "--out",
                           str(work / "e.csv")], cwd=work, env=env, capture_output=True,
                          text=True, timeout=300)
    assert read.returncode == 2, read.stderr
    assert read.stderr.strip() == ("survey-analysis estimate: error: organisation national: no "
                                   f"completed responses in wave(s) {year}"), read.stderr
