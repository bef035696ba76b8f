"""The analysis command line turns bad input into one line on stderr and exit status 2."""

import pytest

from analysis import cli
from analysis.errors import AnalysisInputError


def test_missing_command_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main([])
    assert exc.value.code == 2


def test_input_error_exits_2_with_one_line(monkeypatch, capsys):
    def fake_parser():
        import argparse

        parser = argparse.ArgumentParser(prog="survey-analysis")
        sub = parser.add_subparsers(dest="command")
        p = sub.add_parser("boom")

        def fail(args):
            raise AnalysisInputError("column 'sex': value 'x' is not in the margins")

        p.set_defaults(func=fail)
        return parser

    monkeypatch.setattr(cli, "build_parser", fake_parser)
    assert cli.main(["boom"]) == 2
    err = capsys.readouterr().err
    assert err.strip().count("\n") == 0
    assert "column 'sex': value 'x'" in err
    assert "Traceback" not in err


def test_unwritable_output_is_one_line_not_a_traceback(tmp_path, capsys):
    data = tmp_path / "d.csv"
    data.write_text("wave,y\n2025,1\n2025,2\n")
    code = cli.main(["estimate", str(data), "--items", "y", "--keep-flagged",
                     "--out", str(tmp_path / "no" / "such" / "dir" / "e.csv")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("survey-analysis estimate: error:") and err.count("\n") == 1
    assert "Traceback" not in err


DESIGN_FLAGS = ("--weight", "--strata", "--psu", "--fpc", "--margins", "--base-weight",
                "--rescale", "--calfun", "--bounds", "--rake-variance", "--lonely-psu",
                "--replicates", "--repweights", "--reptype", "--rscale", "--rscales",
                "--fay-rho", "--mse", "--seed")


@pytest.mark.parametrize("command", ["estimate", "compare", "trend", "model"])
def test_every_command_with_a_design_takes_the_same_design_flags(command):
    """The design options come from one parent parser, so no command can lack one."""
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if a.dest == "command").choices[command]
    flags = {s for a in sub._actions for s in a.option_strings}
    assert set(DESIGN_FLAGS) <= flags
