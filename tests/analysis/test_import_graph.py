"""The modules of analysis/ import one another without cycles, so any import order works."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "analysis"


def _module_files() -> dict[str, Path]:
    modules = {}
    for path in PACKAGE.rglob("*.py"):
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        modules[name.removesuffix(".__init__")] = path
    return modules


def _imports(path: Path, modules: dict[str, Path]) -> set[str]:
    """The analysis modules ``path`` imports anywhere (at the top or inside a function: a
    deferred import hides a cycle, it does not remove it)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                found.add(submodule if submodule in modules else node.module)
    return {name for name in found if name in modules}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of ``graph`` (as the list of modules along it), or None."""
    state: dict[str, str] = {}
    path: list[str] = []

    def visit(node):
        state[node] = "open"
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        state[node] = "done"
        path.pop()
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)):
            return found
    return None


def test_no_module_of_analysis_imports_itself_through_others():
    modules = _module_files()
    # the package __init__ re-exports from its modules; a module importing a sibling through
    # "from analysis import x" reaches the sibling, not the package
    graph = {name: _imports(path, modules) - {name, "analysis"}
             for name, path in modules.items() if name != "analysis"}
    assert _cycle(graph) is None, " -> ".join(_cycle(graph))


def test_the_design_modules_do_not_import_one_another_both_ways():
    modules = _module_files()
    assert "analysis.design" not in _imports(modules["analysis.weighting"], modules)
    assert "analysis.design" not in _imports(modules["analysis.multistage"], modules)
    assert _imports(modules["analysis.design_columns"], modules) == {"analysis.errors"}


@pytest.mark.parametrize("order", ["sorted", "reversed"])
def test_every_module_imports_first_in_a_fresh_interpreter(order):
    names = sorted(name for name in _module_files()
                   if name not in ("analysis", "analysis.__main__"))
    if order == "reversed":
        names.reverse()
    code = f"import importlib\nfor name in {names!r}:\n    importlib.import_module(name)\n"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]


# imported only by the commands that use them; each costs every survey-analysis run 0.3-1.4 s
SLOW_TO_IMPORT = ("statsmodels", "matplotlib", "dask", "distributed", "scipy.stats")


def test_building_the_command_line_imports_no_slow_library():
    """Every ``survey-analysis`` command builds the whole argument parser, so a library imported
    by a command's registration is paid by all of them."""
    code = ("import sys; from analysis.cli import build_parser; build_parser(); "
            f"print(','.join(m for m in {SLOW_TO_IMPORT!r} if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "", f"building the parser imported {result.stdout.strip()}"


def test_estimating_means_and_proportions_imports_no_slow_library(tmp_path):
    """``estimate`` (raked means by domain, then logit intervals of proportions) takes its t
    quantiles from scipy.special, not scipy.stats."""
    from analysis.synthetic import make_responses

    make_responses(rows_per_wave=400, waves=(2026,), seed=3, items="core").to_csv(
        tmp_path / "data.csv", index=False)
    margins = ROOT / "analysis" / "data" / "census2020_adult_margins.csv"
    common = ["estimate", str(tmp_path / "data.csv"), "--weight", "base_weight", "--strata",
              "stratum", "--psu", "psu", "--items", "N01_A1,N04_P1", "--by", "region"]
    runs = [common + ["--margins", str(margins), "--out", str(tmp_path / "means.csv")],
            common + ["--proportion", "4,5", "--ci", "logit", "--out", str(tmp_path / "p.csv")]]
    code = ("import sys; from analysis.cli import main\n"
            f"for argv in {runs!r}:\n"
            "    assert main(argv) in (0, None)\n"
            f"print(','.join(m for m in {SLOW_TO_IMPORT!r} if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=ROOT, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert (tmp_path / "p.csv").stat().st_size > 0
    assert result.stdout.strip().splitlines()[-1:] in ([], [""]), \
        f"estimate imported {result.stdout.strip()}"
