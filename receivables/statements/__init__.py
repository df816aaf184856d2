"""Bank statement files -> plain statements and lines, before anything touches the database.

Each reader returns a list of ParsedStatement or raises StatementFileError naming the line or
element and the reason; import_statement_file() in services stores them in one transaction."""

from .common import ParsedLine, ParsedStatement, StatementFileError
from .detect import detect_format, parse_file

__all__ = ["ParsedLine", "ParsedStatement", "StatementFileError", "detect_format", "parse_file"]
