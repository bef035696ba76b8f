"""The Ten Norms catalogue, the item bank and the yearly wave definitions (data + loader).

Public API (see docs/questionnaires.md)::

    from questionnaires import load_wave, load_item_bank, load_norms, codebook_rows
    wave = load_wave(2025)              # questionnaires/waves/2025.yaml, validated
    wave.pages[1].items[0].text["zh"]
    Wave.from_dict(wave.to_dict()) == wave

This package never imports the web app or the analysis package.
"""

from .codebook import (
    CODEBOOK_COLUMNS,
    CODEBOOK_COLUMNS_V1,
    STANDARD_DEMOGRAPHICS,
    answer_labels,
    codebook_rows,
    export_columns,
)
from .errors import QuestionnaireError
from .loader import available_waves, load_item_bank, load_wave, wave_path
from .model import (
    KINDS,
    LANGUAGES,
    NOT_APPLICABLE_CODE,
    Condition,
    Item,
    ItemBank,
    ItemDefinition,
    ItemVersion,
    Norm,
    NormCatalogue,
    NormChange,
    NormsVersion,
    NormText,
    Option,
    Page,
    Province,
    QualityRules,
    StudyInformation,
    Wave,
    comparable,
)
from .reference import load_norms, load_provinces, province_regions, region_of_province

__all__ = [
    "CODEBOOK_COLUMNS",
    "CODEBOOK_COLUMNS_V1",
    "KINDS",
    "LANGUAGES",
    "NOT_APPLICABLE_CODE",
    "Condition",
    "Item",
    "ItemBank",
    "ItemDefinition",
    "ItemVersion",
    "Norm",
    "NormCatalogue",
    "NormChange",
    "NormText",
    "NormsVersion",
    "Option",
    "Page",
    "Province",
    "QualityRules",
    "QuestionnaireError",
    "StudyInformation",
    "STANDARD_DEMOGRAPHICS",
    "Wave",
    "answer_labels",
    "available_waves",
    "codebook_rows",
    "comparable",
    "export_columns",
    "load_item_bank",
    "load_norms",
    "load_provinces",
    "load_wave",
    "province_regions",
    "region_of_province",
    "wave_path",
]
