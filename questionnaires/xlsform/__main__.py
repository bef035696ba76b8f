"""``python -m questionnaires.xlsform export|import``: XLSForm in and out without the web app.

    python -m questionnaires.xlsform export 2026 --out 2026.xlsx
    python -m questionnaires.xlsform import form.xlsx --year 2027 --org GZ --out 2027.yaml

Every problem is one ``error: …`` line on stderr and exit status 2 (no traceback).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import QuestionnaireError
from ..loader import load_wave


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m questionnaires.xlsform",
                                     description="XLSForm in and out (docs/questionnaires.md).")
    commands = parser.add_subparsers(dest="command", required=True)
    export = commands.add_parser("export", help="write a wave as an XLSForm workbook")
    export.add_argument("source", help="a year under questionnaires/waves/, or a wave file")
    export.add_argument("--out", type=Path, required=True, help="the .xlsx to write")
    imp = commands.add_parser("import", help="read an XLSForm workbook as a wave file")
    imp.add_argument("form", type=Path, help="the .xlsx to read")
    imp.add_argument("--year", type=int, required=True, help="the wave the form defines")
    imp.add_argument("--org", help="organisation code: local items are coded ORG_name")
    imp.add_argument("--out", type=Path, help="the wave file to write (default: print it)")
    args = parser.parse_args(argv)
    try:
        return _export(args) if args.command == "export" else _import(args)
    except QuestionnaireError as error:
        print(f"error: {error}", file=sys.stderr)
    except OSError as error:
        print(f"error: {error.filename or ''}: {error.strerror or error}", file=sys.stderr)
    return 2


def _export(args) -> int:
    from . import export_xlsform

    source = args.source
    target = int(source) if source.isdigit() and not Path(source).exists() else source
    wave = load_wave(target)
    export_xlsform(wave, args.out)
    print(f"Wrote wave {wave.year} as an XLSForm to {args.out}.")
    return 0


def _import(args) -> int:
    from . import import_xlsform, wave_yaml

    imported = import_xlsform(args.form, args.year, args.org)
    text = wave_yaml(imported.data, source=args.form.name)
    if args.out is None:
        sys.stdout.write(text)
        return 0
    args.out.write_text(text, encoding="utf-8")
    print(f"Wrote wave {args.year} ({len(imported.wave.items)} items) to {args.out}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
