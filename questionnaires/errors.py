"""The one error every questionnaire file problem raises, and the YAML reading behind it."""

from __future__ import annotations

from pathlib import Path

from .safe_yaml import MIB, YamlFileError, load_yaml_file, shown

PROJECT_ROOT = Path(__file__).resolve().parent.parent
MAX_FILE_BYTES = 5 * MIB  # a wave file is about 5 KB, the item bank about 25 KB
MAX_NAME = 80  # characters of an item code or field name a message echoes
MAX_PROBLEM = 200  # characters of a problem (the longest written is about 130)


def display_path(path: str | Path) -> str:
    """The path as people see it: relative to the project root when inside it."""
    p = Path(path)
    try:
        return p.resolve().relative_to(PROJECT_ROOT).as_posix()
    except ValueError:
        return str(p)


class QuestionnaireError(ValueError):
    """A malformed questionnaire file.

    ``file`` is the file's path (project-relative when inside the project), ``item`` the item code
    (or page key, scale name ...; None for file-level problems), ``field`` the offending field (None
    when the whole file is unreadable) and ``problem`` what is wrong.  ``line`` is set for YAML
    syntax errors (1-based).  ``str(error)`` names all three, e.g.
    ``questionnaires/waves/2025.yaml: item 'N05_P9', field 'items': unknown item code``.
    """

    def __init__(
        self,
        file: str | Path,
        item: str | None,
        field: str | None,
        problem: str,
        *,
        line: int | None = None,
    ) -> None:
        self.file = display_path(file)
        self.item = item
        self.field = field
        self.problem = problem
        self.line = line
        # item codes, field names and problems can echo anything a file holds: keep the
        # message one line of bounded length
        item_s = f"item {_bounded_repr(item)}" if item is not None else "item (none)"
        field_s = f"field {_bounded_repr(field)}" if field is not None else "field (none)"
        super().__init__(f"{self.file}: {item_s}, {field_s}: {shown(problem, MAX_PROBLEM)}")


def _bounded_repr(value) -> str:
    text = repr(value)
    return text if len(text) <= MAX_NAME else text[:MAX_NAME - 1] + "…"


def read_yaml(path: str | Path, max_bytes: int = MAX_FILE_BYTES):
    """Parse a YAML file safely (see :mod:`questionnaires.safe_yaml`); every problem becomes a
    :class:`QuestionnaireError`, with the line for syntax errors."""
    try:
        return load_yaml_file(path, max_bytes)
    except FileNotFoundError:
        raise QuestionnaireError(path, None, None, "file not found") from None
    except OSError as exc:  # a folder, no permission
        raise QuestionnaireError(path, None, None,
                                 f"cannot read the file ({exc.strerror or exc})") from None
    except YamlFileError as exc:
        raise QuestionnaireError(path, None, None, exc.problem, line=exc.line) from None
