"""The one error every questionnaire file problem raises, and the YAML reading behind it."""

from __future__ import annotations

from pathlib import Path

import yaml

PROJECT_ROOT = Path(__file__).resolve().parent.parent


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
        item_s = f"item {item!r}" if item is not None else "item (none)"
        field_s = f"field {field!r}" if field is not None else "field (none)"
        super().__init__(f"{self.file}: {item_s}, {field_s}: {problem}")


class _StrictSafeLoader(yaml.SafeLoader):
    """PyYAML's safe loader that refuses duplicate keys in a mapping.

    Plain ``safe_load`` silently keeps the last of two equal keys, which would hide a duplicated
    ``zh`` text or page key.
    """


def _construct_mapping(loader: _StrictSafeLoader, node: yaml.MappingNode, deep: bool = False):
    seen: dict = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        try:
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping",
                    node.start_mark,
                    f"found duplicate key {key!r}",
                    key_node.start_mark,
                )
            seen[key] = True
        except TypeError:  # unhashable key: let PyYAML report it
            pass
    return loader.construct_mapping(node, deep=deep)


_StrictSafeLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping
)


def read_yaml(path: str | Path):
    """Parse a YAML file safely; syntax errors become :class:`QuestionnaireError` with the line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise QuestionnaireError(path, None, None, "file not found") from None
    except UnicodeDecodeError as exc:
        raise QuestionnaireError(path, None, None, f"not UTF-8 text ({exc.reason})") from None
    try:
        return yaml.load(text, Loader=_StrictSafeLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        where = f" at line {line}, column {mark.column + 1}" if mark is not None else ""
        problem = exc.problem or exc.context or "invalid YAML"
        raise QuestionnaireError(
            path, None, None, f"YAML syntax error{where}: {problem}", line=line
        ) from None
    except yaml.reader.ReaderError as exc:
        # a character YAML refuses (control characters): report its line like syntax errors
        line = text.count("\n", 0, exc.position) + 1
        problem = f"YAML syntax error at line {line}: unacceptable character #x{exc.character:04x}"
        raise QuestionnaireError(path, None, None, problem, line=line) from None
    except yaml.YAMLError as exc:  # pragma: no cover - PyYAML raises the two kinds above
        raise QuestionnaireError(path, None, None, f"YAML syntax error: {exc}") from None
