"""Writing an imported wave as a wave file (``questionnaires/waves/YEAR.yaml`` format)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import yaml

WAVE_KEYS = ("year", "title", "norms_version", "opens", "closes", "consent", "study", "quality",
             "local_items", "pages")


class _WaveDumper(yaml.SafeDumper):
    """Block style, with paragraphs as literal blocks and short code lists on one line."""


def _text(dumper: yaml.SafeDumper, value: str):
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


def _list(dumper: yaml.SafeDumper, value: list):
    flow = bool(value) and all(isinstance(v, str) and "\n" not in v for v in value)
    flow = flow or (bool(value) and all(isinstance(v, int) for v in value))
    return dumper.represent_sequence("tag:yaml.org,2002:seq", value, flow_style=flow)


_WaveDumper.add_representer(str, _text)
_WaveDumper.add_representer(list, _list)
_WaveDumper.add_representer(dt.date, yaml.SafeDumper.represent_date)


def wave_yaml(data: dict, source: str = "") -> str:
    """The text of a wave file holding ``data`` (an imported wave's data)."""
    ordered = {key: data[key] for key in WAVE_KEYS if key in data}
    header = (f"# Wave definition for the {data['year']} survey, imported from the XLSForm "
              f"{source or '(unnamed)'}.\n# Format: docs/questionnaires.md.\n")
    body = yaml.dump(ordered, Dumper=_WaveDumper, allow_unicode=True, sort_keys=False,
                     width=100, default_flow_style=False)
    return header + body


def write_wave_yaml(data: dict, out: str | Path, source: str = "") -> Path:
    out = Path(out)
    out.write_text(wave_yaml(data, source), encoding="utf-8")
    return out
