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
