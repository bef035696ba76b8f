"""Reference data of the catalogue: the Ten Norms (norms.yaml) and the provinces (provinces.csv)."""

from __future__ import annotations

import csv
import re
from functools import lru_cache
from pathlib import Path

from ._checks import Checker
from .errors import QuestionnaireError, read_yaml
from .model import Norm, NormCatalogue, NormChange, NormsVersion, NormText, Province
from .safe_yaml import MIB

CATALOGUE_DIR = Path(__file__).resolve().parent / "catalogue"
NORMS_FILE = CATALOGUE_DIR / "norms.yaml"
PROVINCES_FILE = CATALOGUE_DIR / "provinces.csv"
REGIONS = ("east", "central", "west", "northeast")
MAX_PROVINCES_BYTES = MIB  # 31 rows are about 2 KB; a cap like the YAML files' (errors.py)

_CHANGES_KEY = re.compile(r"^changes_(\d{4})_to_(\d{4})$")


def _mtime(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return -1


# --------------------------------------------------------------------------- norms


def load_norms(path: str | Path | None = None) -> NormCatalogue:
    """The Ten Norms catalogue (default: the shipped ``catalogue/norms.yaml``).

    ``catalogue.versions`` maps '2018' and '2023' to :class:`NormsVersion`;
    ``catalogue.norm('N02').texts['2018'].text['zh']`` is an article's text ('' when not found,
    see ``missing``); ``catalogue.changed_between('2018', '2023')`` lists the recorded changes.
    """
    p = Path(path) if path is not None else NORMS_FILE
    return _load_norms_cached(str(p.resolve()), _mtime(p))


@lru_cache(maxsize=8)
def _load_norms_cached(path: str, _mtime_ns: int) -> NormCatalogue:
    return _parse_norms(Path(path))


def _parse_norms(path: Path) -> NormCatalogue:
    check = Checker(path)
    data = check.mapping(read_yaml(path), None, None)
    versions_raw = check.list_(data.get("versions"), None, "versions")
    versions: dict[str, NormsVersion] = {}
    per_code: dict[str, dict[str, NormText]] = {}
    numbers: dict[str, int] = {}
    for v in versions_raw:
        v = check.mapping(v, None, "versions")
        key = check.string(v.get("key"), None, "versions.key")
        if key in versions:
            check.fail(None, "versions.key", f"duplicate norms version {key!r}")
        release = v.get("public_release")
        versions[key] = NormsVersion(
            key=key,
            id=str(v.get("id", key)),
            title=check.text(
                {"zh": v.get("title_zh"), "en": v.get("title_en")}, None, f"versions.{key}.title"
            ),
            trial="trial" in str(v.get("id", "")),
            public_release=check.date(release, None, f"versions.{key}.public_release")
            if release is not None
            else None,
            announcement=str(v.get("announcement") or ""),
        )
        for a in check.list_(v.get("articles"), None, f"versions.{key}.articles"):
            a = check.mapping(a, None, f"versions.{key}.articles")
            code = check.string(a.get("code"), None, f"versions.{key}.articles.code")
            field = f"versions.{key}"
            if key in per_code.setdefault(code, {}):
                check.fail(code, field, f"norm listed twice in version {key}")
            missing = check.boolean(a.get("missing"), code, f"{field}.missing")
            text_zh, text_en = a.get("text_zh") or "", a.get("text_en") or ""
            if not missing and not (text_zh and text_en):
                check.fail(
                    code, f"{field}.text", "text is empty but the norm is not marked missing"
                )
            numbers[code] = check.integer(a.get("number"), code, f"{field}.number")
            per_code[code][key] = NormText(
                code=code,
                version=key,
                number=numbers[code],
                title=check.text(
                    {"zh": a.get("title_zh"), "en": a.get("title_en")}, code, f"{field}.title"
                ),
                text={"zh": text_zh, "en": text_en},
                missing=missing,
                text_as_found=a.get("text_as_found_defective") or a.get("text_fragment_found"),
                status=a.get("text_status"),
            )
    for code, texts in per_code.items():
        absent = [k for k in versions if k not in texts]
        if absent:
            check.fail(code, "versions", f"norm missing from version(s) {', '.join(absent)}")
    norms = {
        code: Norm(code=code, number=numbers[code], texts=per_code[code])
        for code in sorted(per_code, key=lambda c: numbers[c])
    }
    changes: list[NormChange] = []
    for key, value in data.items():
        m = _CHANGES_KEY.match(str(key))
        if not m:
            continue
        a, b = m.groups()
        for c in check.list_(value, None, key):
            c = check.mapping(c, None, key)
            code = c.get("code")
            if code not in norms:
                check.fail(str(code), key, "unknown norm code")
            changes.append(
                NormChange(
                    code=code,
                    from_version=a,
                    to_version=b,
                    title_from=str(c.get(f"title_{a}", "")),
                    title_to=str(c.get(f"title_{b}", "")),
                    title_changed=bool(c.get("title_changed")),
                    text_changed=c.get("text_changed"),
                    note=str(c.get("note") or ""),
                )
            )
    return NormCatalogue(versions=versions, norms=norms, changes=tuple(changes), source=str(path))


# --------------------------------------------------------------------------- provinces


def load_provinces(path: str | Path | None = None) -> tuple[Province, ...]:
    """The 31 mainland provinces (GB/T 2260 order) from ``catalogue/provinces.csv``."""
    p = Path(path) if path is not None else PROVINCES_FILE
    return _load_provinces_cached(str(p.resolve()), _mtime(p))


@lru_cache(maxsize=8)
def _load_provinces_cached(path: str, _mtime_ns: int) -> tuple[Province, ...]:
    p = Path(path)
    columns = ("province_code", "province_zh", "province_en", "region", "population_2020")
    try:
        size = p.stat().st_size
        if size > MAX_PROVINCES_BYTES:
            raise QuestionnaireError(p, None, None, f"the file is {size} bytes, more than the "
                                                    "limit of 1 MiB for this kind of file")
        with p.open(encoding="utf-8", newline="") as fh:
            reader = csv.DictReader(fh)
            if tuple(reader.fieldnames or ()) != columns:
                raise QuestionnaireError(p, None, None, f"columns must be {', '.join(columns)}")
            out = []
            for row in reader:
                code = row["province_code"]
                if not re.fullmatch(r"\d{6}", code or ""):
                    raise QuestionnaireError(p, code, "province_code", "must be 6 digits")
                if row["region"] not in REGIONS:
                    raise QuestionnaireError(p, code, "region", f"unknown region {row['region']!r}")
                out.append(
                    Province(
                        code=code,
                        zh=row["province_zh"],
                        en=row["province_en"],
                        region=row["region"],
                        population_2020=_population(p, code, row["population_2020"]),
                    )
                )
    except FileNotFoundError:
        raise QuestionnaireError(p, None, None, "file not found") from None
    return tuple(out)


def _population(path: Path, code: str, text: str) -> int:
    try:
        return int(text)
    except (TypeError, ValueError):
        raise QuestionnaireError(
            path, code, "population_2020", f"must be an integer, got {text!r}"
        ) from None


def province_regions() -> dict[str, str]:
    """Province code (e.g. '110000') -> NBS region ('east', 'central', 'west', 'northeast')."""
    return {p.code: p.region for p in load_provinces()}


def region_of_province(code: str | int) -> str:
    """The NBS region of a province code (text or integer, e.g. 110000 -> 'east').

    Raises ``KeyError`` for a code that is not one of the 31 provinces.
    """
    key = str(code).strip()
    regions = province_regions()
    if key not in regions:
        raise KeyError(f"unknown province code {code!r}")
    return regions[key]
