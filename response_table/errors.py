"""The one error of the package: a request the database cannot answer (no such organisation or
wave, a wave without a questionnaire), its message one line naming what."""


class TableError(Exception):
    """A wave, organisation or database the responses table cannot be built from."""
