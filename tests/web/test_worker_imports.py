"""A web worker never loads the analysis stack: pandas, numpy, pyarrow and `analysis` cost every
gunicorn worker tens of MB and a second of start-up, and only `flask export` needs them (it
imports them when it runs)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ANALYSIS_STACK = ("pandas", "numpy", "pyarrow", "analysis", "scipy", "statsmodels", "matplotlib",
                  "openpyxl", "pyreadstat")

# create the app, set a wave up with the researcher commands, start a response and see its
# first page
WORKER = """
import json, sys
import survey
app = survey.create_app({"SECRET_KEY": "test", "TESTING": True, "WTF_CSRF_ENABLED": False,
                         "SQLALCHEMY_DATABASE_URI": "sqlite:///" + sys.argv[1]})
runner = app.test_cli_runner()
for args in (["init-db"], ["load-questionnaire", "2026"], ["open-wave", "2026"]):
    result = runner.invoke(args=args)
    assert result.exit_code == 0, (args, result.output)
assert "export" in app.cli.list_commands(None)
client = app.test_client()
pages = [client.get("/", follow_redirects=True), client.get("/2026/consent?lang=en"),
         client.post("/2026/consent", follow_redirects=True)]
statuses = [page.status_code for page in pages]
loaded = sorted({name.split(".")[0] for name in sys.modules} & set(sys.argv[2].split(",")))
print(json.dumps({"statuses": statuses, "loaded": loaded}))
"""


def test_creating_the_app_and_serving_pages_loads_no_analysis_code(tmp_path):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
    result = subprocess.run(
        [sys.executable, "-c", WORKER, str(tmp_path / "survey.sqlite"), ",".join(ANALYSIS_STACK)],
        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["statuses"] == [200, 200, 200], report
    assert report["loaded"] == [], f"a web worker imported {report['loaded']}"


def test_the_export_command_still_loads_what_it_needs():
    """The lazy import is inside the command: its module imports without pandas, and the
    command's own import of the export module brings pandas in."""
    code = ("import sys; import survey.commands; assert 'pandas' not in sys.modules; "
            "import survey.export; assert 'pandas' in sys.modules")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
