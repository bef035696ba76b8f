"""XLSForm in and out: a wave as an XLSForm workbook (KoboToolbox, ODK) and back.

    from questionnaires.xlsform import export_xlsform, import_xlsform, wave_yaml
    export_xlsform(load_wave(2026), "2026.xlsx")
    imported = import_xlsform("2027.xlsx", year=2027, org="GZ")   # ImportedWave
    imported.wave                      # the validated questionnaires.Wave
    wave_yaml(imported.data)           # its wave file

The supported subset of XLSForm is the table in docs/questionnaires.md ("XLSForm"); anything
else is refused with an :class:`XLSFormError` naming the file, sheet, row and column.
Commands: ``flask --app survey import-xlsform|export-xlsform`` and
``python -m questionnaires.xlsform import|export``.
"""

from .reader import (
    SETTINGS_COLUMNS,
    SUPPORTED_TYPES,
    SURVEY_COLUMNS,
    UNSUPPORTED_COLUMNS,
    ImportedWave,
    import_xlsform,
)
from .wavefile import wave_yaml, write_wave_yaml
from .workbook import XLSFormError
from .writer import build_workbook, export_xlsform

__all__ = [
    "SETTINGS_COLUMNS",
    "SUPPORTED_TYPES",
    "SURVEY_COLUMNS",
    "UNSUPPORTED_COLUMNS",
    "ImportedWave",
    "XLSFormError",
    "export_xlsform",
    "import_xlsform",
    "wave_yaml",
    "build_workbook",
    "write_wave_yaml",
]
