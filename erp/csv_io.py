"""CSV in and out: a streamed export response and a small import framework.

Export: `stream_csv(filename, header, rows)` sends rows as they are produced, in pieces of
about CHUNK bytes, so an export of 100,000 rows holds a batch or two in memory, never the
whole file (a piece per line was a socket write and an HTTP chunk per row: a form's CSV of
thousands of rows took 519 ms to arrive for 41 ms of server work at size l, #17).
`iter_rows(stmt)` runs a select with `yield_per` (a server-side cursor on PostgreSQL).
Every text cell passes through `safe_cell`: a spreadsheet would run a cell starting with
= + - @ (or tab / carriage return) as a formula, so such cells get a leading quote;
`unescape_cell` undoes it on import, so export then import gives back the same text.

Import: `read_csv(data)` decodes bytes (UTF-8, with or without BOM) and checks the header
against an `ImportSpec`; parsing helpers turn cells into typed values and collect every
problem as a `RowError` instead of stopping at the first one.
"""
from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import Response, stream_with_context
from sqlalchemy import Select

from erp.extensions import db, limiter

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
# Rows fetched per round trip while streaming: memory is about 2-3 batches of rows.
BATCH = 500
# Characters of CSV text sent at a time: a few socket writes per batch of rows, not one a row.
CHUNK = 64 * 1024
BOM = "\ufeff"  # lets Excel recognise UTF-8; `read_csv` accepts files with or without it


# ---------------------------------------------------------------- export

def safe_cell(value: Any) -> str | int | Decimal:
    """One cell as written to the file; text that a spreadsheet would evaluate is quoted."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, Decimal)):
        return value
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    text = str(value)
    if text.startswith(FORMULA_PREFIXES):
        return "'" + text
    return text


def unescape_cell(text: str) -> str:
    """Undo `safe_cell`'s quote: "'=x" read back is "=x"."""
    if len(text) > 1 and text[0] == "'" and text[1] in "=+-@\t\r":
        return text[1:]
    return text


def csv_lines(header: Sequence[str], rows: Iterable[Sequence[Any]], *, bom: bool = True
              ) -> Iterator[str]:
    """The CSV text, one line per yield (header first)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def line(values) -> str:
        writer.writerow([safe_cell(v) for v in values])
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate(0)
        return text

    yield (BOM if bom else "") + line(header)
    for row in rows:
        yield line(row)


def in_chunks(lines: Iterable[str], size: int | None = None) -> Iterator[str]:
    """`lines` joined into pieces of at least `size` (CHUNK) characters, the last one
    shorter."""
    size = size or CHUNK
    pending: list[str] = []
    length = 0
    for line in lines:
        pending.append(line)
        length += len(line)
        if length >= size:
            yield "".join(pending)
            pending, length = [], 0
    if pending:
        yield "".join(pending)


SAFE_FILENAME = re.compile(r"[^A-Za-z0-9._-]+")


def stream_csv(filename: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Response:
    """A streamed `text/csv` download; `rows` is consumed lazily while the response is sent.

    `rows` may read the database: the request context (and its session) stays open until
    the last row is sent.
    """
    name = SAFE_FILENAME.sub("-", filename).strip("-.") or "export"
    if not name.endswith(".csv"):
        name += ".csv"
    response = Response(stream_with_context(in_chunks(csv_lines(header, rows))),
                        mimetype="text/csv")
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def iter_rows(stmt: Select, *, batch: int = BATCH, scalars: bool = False) -> Iterator:
    """The rows of `stmt`, fetched `batch` at a time (flat memory however many there are).

    Rows are tuples; `scalars=True` yields the first column (e.g. the ORM objects).
    """
    result = db.session.execute(stmt.execution_options(yield_per=batch))
    try:
        yield from (result.scalars() if scalars else result)
    finally:
        result.close()


def export_select(stmt: Select, columns: Sequence[Any], *,
                  joins: Sequence[tuple[Any, Any]] = ()) -> Select:
    """A list page's filtered, ordered statement reduced to `columns` (for its CSV export).

    The page's WHERE, ORDER BY and explicit joins are kept (no pagination, no loader
    options); `joins` are (target, onclause) outer joins for columns of related tables,
    so every row comes from the one query, never from a lazy relationship.
    """
    export = stmt.with_only_columns(*columns, maintain_column_froms=True)
    for target, onclause in joins:
        export = export.outerjoin(target, onclause)
    return export


def dated_csv(name: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Response:
    """`stream_csv` named `<name>-<today>.csv`."""
    return stream_csv(f"{name}-{date.today().isoformat()}.csv", header, rows)


def export_csv(name: str, stmt: Select, columns: Sequence[tuple[str, Any]], *,
               joins: Sequence[tuple[Any, Any]] = (),
               row: Callable[[Any], Sequence[Any]] | None = None) -> Response:
    """Stream a list page's rows as `<name>-<today>.csv`.

    `stmt` is the page's filtered and ordered select (before pagination); `columns` are
    (header, column expression) pairs; `row` optionally turns a result row into cells.
    """
    export = export_select(stmt, [column for _, column in columns], joins=joins)
    rows: Iterable = iter_rows(export)
    if row is not None:
        rows = map(row, rows)
    return dated_csv(name, [header for header, _ in columns], rows)


def export_limit() -> str:
    """The rate limit of CSV exports (`RATELIMIT_EXPORT`)."""
    from flask import current_app

    return current_app.config["RATELIMIT_EXPORT"]


def not_csv() -> bool:
    """Requests that are not CSV exports are exempt from the export rate limit."""
    from flask import request

    return request.args.get("format") != "csv"


# Decorates a list view (under @require_role): its CSV export (`?format=csv`) is rate-limited
# by RATELIMIT_EXPORT per user, on top of the default limit that every request counts
# against (without override_defaults=False a route limit replaces the default one).
export_limited = limiter.limit(export_limit, exempt_when=not_csv, override_defaults=False)


def wants_csv() -> bool:
    """The list was asked for as CSV (`?format=csv`)."""
    from flask import request

    return request.args.get("format") == "csv"


# ---------------------------------------------------------------- import

class CsvFormatError(Exception):
    """The file as a whole cannot be read (encoding, not CSV, wrong columns)."""

    def __init__(self, messages: list[str]) -> None:
        super().__init__("; ".join(messages))
        self.messages = messages


@dataclass
class RowError:
    line: int  # the line number in the file (the header is line 1)
    column: str
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}" + (f", {self.column}" if self.column else "")
        return f"{where}: {self.message}"


@dataclass
class Column:
    name: str
    required: bool = False  # the column must be in the header
    label: str = ""


@dataclass
class ImportReport:
    """What a file would import: parsed rows, and every problem found."""

    kind: str
    columns: list[str] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)  # parsed, valid or not
    errors: list[RowError] = field(default_factory=list)
    file_errors: list[str] = field(default_factory=list)
    imported: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors and not self.file_errors and bool(self.rows)

    @property
    def row_count(self) -> int:
        return len(self.rows)

    @property
    def error_lines(self) -> int:
        return len({e.line for e in self.errors})

    def errors_by_line(self) -> dict[int, list[RowError]]:
        grouped: dict[int, list[RowError]] = {}
        for error in self.errors:
            grouped.setdefault(error.line, []).append(error)
        return grouped

    def text(self, limit: int = 200) -> str:
        """The report as plain text (for the CLI)."""
        lines = list(self.file_errors)
        lines += [str(e) for e in self.errors[:limit]]
        if len(self.errors) > limit:
            lines.append(f"... and {len(self.errors) - limit} more errors")
        return "\n".join(lines)


MAX_ROWS = 100_000


def read_csv(data: bytes, columns: Sequence[Column]) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """Decode and split a CSV file, checking its header against `columns`.

    Returns the header and (line number, {column: text}) per data row, cells stripped and
    un-escaped. Raises CsvFormatError for a file that is not UTF-8, not CSV, empty, too
    long, or whose columns are missing, unknown or repeated (all named at once).
    """
    if b"\x00" in data[:65536]:
        raise CsvFormatError(["The file is not a text CSV file (it contains binary data)."])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise CsvFormatError([
            f"The file is not UTF-8 text (invalid byte at position {error.start}). "
            "Save it as 'CSV UTF-8' and upload it again."]) from None
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
        if header is None or not any(cell.strip() for cell in header):
            raise CsvFormatError(["The file is empty: the first line must name the columns."])
        header = [cell.strip().lower() for cell in header]
        known = {c.name for c in columns}
        problems = []
        unknown = [h for h in header if h not in known]
        if unknown:
            problems.append("Unknown columns: " + ", ".join(repr(h) for h in unknown)
                            + ". Expected: " + ", ".join(c.name for c in columns) + ".")
        repeated = sorted({h for h in header if header.count(h) > 1})
        if repeated:
            problems.append("Repeated columns: " + ", ".join(repeated) + ".")
        missing = [c.name for c in columns if c.required and c.name not in header]
        if missing:
            problems.append("Missing required columns: " + ", ".join(missing) + ".")
        if problems:
            raise CsvFormatError(problems)
        rows: list[tuple[int, dict[str, str]]] = []
        for cells in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in cells):
                continue  # blank lines are not rows
            if len(rows) >= MAX_ROWS:
                raise CsvFormatError([f"The file has more than {MAX_ROWS:,} rows; split it."])
            values = {name: unescape_cell(cell.strip()) for name, cell in zip(header, cells)}
            if len(cells) != len(header):
                values["__cells__"] = str(len(cells))
            rows.append((line, values))
    except csv.Error as error:
        raise CsvFormatError([f"The file is not valid CSV (line {reader.line_num}): {error}."]) from None
    return header, rows


class RowParser:
    """Typed values from one row's cells; problems are collected, not raised."""

    def __init__(self, line: int, values: dict[str, str], errors: list[RowError],
                 header_len: int) -> None:
        self.line = line
        self.values = values
        self.errors = errors
        if "__cells__" in values:
            self.error("", f"has {values['__cells__']} cells; the header has {header_len}.")

    def error(self, column: str, message: str) -> None:
        self.errors.append(RowError(self.line, column, message))

    def has(self, name: str) -> bool:
        return name in self.values

    def text(self, name: str, *, max_length: int, required: bool = False, default: str = "") -> str:
        value = self.values.get(name, default)
        if required and not value:
            self.error(name, "is required.")
        if len(value) > max_length:
            self.error(name, f"is longer than {max_length} characters.")
        return value

    def decimal(self, name: str, *, default: Decimal, maximum: Decimal, places: int) -> Decimal:
        raw = self.values.get(name, "")
        if raw == "":
            return default
        try:
            value = Decimal(raw.replace(" ", ""))
        except InvalidOperation:
            self.error(name, f"{raw[:40]!r} is not a number.")
            return default
        if not value.is_finite():
            self.error(name, f"{raw[:40]!r} is not a number.")
            return default
        if value < 0:
            self.error(name, "must not be negative.")
        elif value > maximum:
            self.error(name, f"must be at most {maximum}.")
        elif value != value.quantize(Decimal(1).scaleb(-places)):
            self.error(name, f"has more than {places} decimal places.")
        return value

    def boolean(self, name: str, *, default: bool = True) -> bool:
        raw = self.values.get(name, "").lower()
        if raw == "":
            return default
        if raw in {"yes", "y", "true", "1", "active"}:
            return True
        if raw in {"no", "n", "false", "0", "inactive", "archived"}:
            return False
        self.error(name, f"{raw[:40]!r} is not yes or no.")
        return default

    def choice(self, name: str, options: dict[str, str], *, default: str) -> str:
        """A key of `options`, given as the key or its label (case-insensitive)."""
        raw = self.values.get(name, "")
        if raw == "":
            return default
        lookup = {k.lower(): k for k in options} | {v.lower(): k for k, v in options.items()}
        key = lookup.get(raw.lower())
        if key is None:
            self.error(name, f"{raw[:40]!r} is not one of: {', '.join(options)}.")
            return default
        return key


def chunks(items: Sequence, size: int = 500) -> Iterator[Sequence]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


ProgressCallback = Callable[[int], None]
