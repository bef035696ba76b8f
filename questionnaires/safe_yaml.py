"""Reading hand-edited YAML files (wave files, the item bank, the norms catalogue, report plans)
without letting a malformed or hostile file hang or exhaust the process.

On top of PyYAML's safe loader (no Python objects) this refuses:

* files larger than a cap given by the caller (before reading them);
* bytes that are not UTF-8, naming the byte and its offset;
* aliases that expand the document (``&a [*b, *b, ...]`` nested nine deep is a 5 KB file
  that means a billion values): aliases may add at most :data:`MAX_ALIAS_EXPANSION` values;
* nesting deeper than :data:`MAX_DEPTH` levels;
* duplicate keys in a mapping (plain ``safe_load`` silently keeps the last one, which would hide
  a duplicated ``zh`` text or page key).

Every problem is a :class:`YamlFileError` whose message is one bounded line; callers turn it into
their own error type (this module imports nothing of the project).
"""

from __future__ import annotations

from pathlib import Path

import yaml
from yaml.nodes import MappingNode, SequenceNode

MAX_DEPTH = 50
MAX_ALIAS_EXPANSION = 10_000
MAX_SHOWN = 80  # characters of a value a message may echo
MIB = 1 << 20


class YamlFileError(ValueError):
    """A YAML file that cannot be read safely. ``problem`` is one line without the path;
    ``line`` is 1-based when the problem has a place in the file."""

    def __init__(self, path: str | Path, problem: str, line: int | None = None,
                 syntax: bool = False) -> None:
        self.path = Path(path)
        self.problem = problem
        self.line = line
        self.syntax = syntax
        super().__init__(f"{path}: {problem}")


def shown(value, limit: int = MAX_SHOWN) -> str:
    """``value`` as text of at most ``limit`` characters (an ellipsis marks a cut), on one
    line, for messages that echo what a file contains."""
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def load_yaml_file(path: str | Path, max_bytes: int):
    """The data of the YAML file at ``path`` (at most ``max_bytes`` long), read safely."""
    path = Path(path)
    size = path.stat().st_size  # FileNotFoundError for the caller to word
    if size > max_bytes:
        raise YamlFileError(path, f"the file is {size} bytes, more than the limit of "
                                  f"{_size(max_bytes)} for this kind of file")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise YamlFileError(path, f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset "
                                  f"{exc.start}: {exc.reason}); save the file as UTF-8") from None
    return load_yaml_text(text.removeprefix("\ufeff"), path)


def load_yaml_text(text: str, path: str | Path = "<yaml>"):
    """The data of YAML ``text``, read as :func:`load_yaml_file` reads a file."""
    loader = None
    try:
        loader = _GuardedLoader(text, path)  # refuses control characters at once
        node = loader.get_single_node()
        if node is None:
            return None
        loader.check_expansion(node)
        return loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        where = f" at line {line}, column {mark.column + 1}" if mark is not None else ""
        problem = shown(exc.problem or exc.context or "invalid YAML", 160)
        raise YamlFileError(path, f"YAML syntax error{where}: {problem}", line,
                            syntax=True) from None
    except yaml.reader.ReaderError as exc:
        # a character YAML refuses (control characters): report its line like syntax errors
        line = text.count("\n", 0, exc.position) + 1
        raise YamlFileError(path, f"YAML syntax error at line {line}: unacceptable character "
                                  f"#x{exc.character:04x}", line, syntax=True) from None
    except yaml.YAMLError as exc:  # pragma: no cover - PyYAML raises the two kinds above
        raise YamlFileError(path, f"YAML syntax error: {shown(exc, 160)}",
                            syntax=True) from None
    finally:
        if loader is not None:
            loader.dispose()


def _size(n: int) -> str:
    return f"{n // MIB} MiB" if n % MIB == 0 else f"{n} bytes"


class _GuardedLoader(yaml.SafeLoader):
    """The safe loader, counting depth and written values while composing, so that deep
    nesting is refused before Python's recursion limit and alias expansion before any value
    is built."""

    def __init__(self, text: str, path) -> None:
        super().__init__(text)
        self.path = path
        self.depth = 0
        self.written = 0

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            return super().compose_node(parent, index)
        self.depth += 1
        self.written += 1
        try:
            if self.depth > MAX_DEPTH:
                line = self.peek_event().start_mark.line + 1
                raise YamlFileError(self.path, f"nesting deeper than {MAX_DEPTH} levels at "
                                               f"line {line}", line)
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1

    def check_expansion(self, root) -> None:
        """Refuse a document whose aliases stand for more than MAX_ALIAS_EXPANSION values
        beyond those written (counted on the node graph, never expanded)."""
        limit = self.written + MAX_ALIAS_EXPANSION
        sizes: dict[int, int] = {}
        open_nodes: set[int] = set()

        def size(node) -> int:
            key = id(node)
            if key in sizes:
                return sizes[key]
            if key in open_nodes:
                line = node.start_mark.line + 1
                raise YamlFileError(self.path, f"a YAML alias at line {line} refers to a value "
                                               "that contains it", line)
            open_nodes.add(key)
            if isinstance(node, SequenceNode):
                total = 1 + sum(size(child) for child in node.value)
            elif isinstance(node, MappingNode):
                total = 1 + sum(size(k) + size(v) for k, v in node.value)
            else:
                total = 1
            open_nodes.discard(key)
            if total > limit:
                line = node.start_mark.line + 1
                raise YamlFileError(
                    self.path, f"YAML aliases expand the value at line {line} to more than "
                               f"{MAX_ALIAS_EXPANSION} values beyond those written; write "
                               "the values out instead", line)
            sizes[key] = total
            return total

        size(root)


def _construct_mapping(loader: _GuardedLoader, node: yaml.MappingNode, deep: bool = False):
    seen: set = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        try:
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping", node.start_mark,
                    f"found duplicate key {shown(repr(key))}", key_node.start_mark)
            seen.add(key)
        except TypeError:  # unhashable key: let PyYAML report it
            pass
    return loader.construct_mapping(node, deep=deep)


_GuardedLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
