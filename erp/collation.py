"""Text compared the way Turkish and English readers expect, on SQLite and PostgreSQL.

Search (case-insensitive "contains"): one folding rule, here once, in Python (`fold`) and
in SQL (`folded(column)`): İ, I and ı become i, then the text is lowered. So "istanbul"
finds "İstanbul", "ışık" and "IŞIK" find "Işık", "çelik" finds "Çelik" and "steel" still
finds "STEEL". (Python's own lower() makes "İ" two characters and keeps "ı"; SQLite's
lower() folds ASCII only; PostgreSQL's lower() keeps "ı" and depends on the database's
LC_CTYPE.) SQL per database:

- PostgreSQL: `lower(translate(col, 'İIıÇĞÖŞÜ', 'iiiçğöşü'))`: immutable, so the product
  search's pg_trgm GIN indexes are built on it (erp/models/search.py); the Turkish capitals
  are translated explicitly so that a database with LC_CTYPE=C folds them too.
- SQLite: `erp_fold(col)`, a deterministic Python function registered on every connection
  (erp/database.py). The product search's FTS5 trigram table is written by triggers with
  `sqlite_fold` (İ, I, ı as i in plain SQL); FTS5 folds the other capitals itself.

Sorting by name: Turkish order (a b c ç d e f g ğ h ı i j k l m n o ö p r s ş t u ü v y z),
case-insensitive, for Turkish readers only (`reader_order`): PostgreSQL's ICU collation
`tr-TR-x-icu`, on SQLite the `turkish` collation registered on every connection
(`compare`); indexes in that order serve the product and customer lists on both
(erp/models/search.py). An English reader's list keeps the plain order its indexes serve.
"""
from __future__ import annotations

import unicodedata
from functools import lru_cache

from sqlalchemy import String
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

_DOTTED = str.maketrans({"İ": "i", "I": "i", "ı": "i"})
FOLD_FROM, FOLD_TO = "İIıÇĞÖŞÜ", "iiiçğöşü"
SQLITE_FUNCTION = "erp_fold"
COLLATION = "turkish"            # the SQLite collation
ICU_COLLATION = "tr-TR-x-icu"    # PostgreSQL's (built with ICU: Debian's is)


def fold(text: str) -> str:
    """The search form of a text: İ, I and ı become i, then lower case."""
    return text.translate(_DOTTED).lower()


def postgresql_fold(column_sql: str) -> str:
    """The folding rule in PostgreSQL, around a column's SQL (also the indexes' expression)."""
    return f"lower(translate({column_sql}, '{FOLD_FROM}', '{FOLD_TO}'))"


def sqlite_fold(column_sql: str) -> str:
    """The folding of İ, I and ı in plain SQLite SQL (the FTS5 table folds the rest)."""
    return f"replace(replace(replace({column_sql}, 'İ', 'i'), 'I', 'i'), 'ı', 'i')"


class folded(FunctionElement):
    """`folded(column)`: the column's text in its search form (see `fold`)."""

    type = String()
    name = "folded"
    inherit_cache = True


@compiles(folded)
def _folded_default(element, compiler, **kw):
    return f"lower({compiler.process(element.clauses, **kw)})"


@compiles(folded, "postgresql")
def _folded_postgresql(element, compiler, **kw):
    return postgresql_fold(compiler.process(element.clauses, **kw))


@compiles(folded, "sqlite")
def _folded_sqlite(element, compiler, **kw):
    return f"{SQLITE_FUNCTION}({compiler.process(element.clauses, **kw)})"


def same_text(column, text: str):
    """`column` holds `text` up to case (a name already taken): the folding on both sides, so
    SQLite (whose lower() folds ASCII only) and Python agree on "É" and "é"."""
    return folded(column) == fold(text)


def _fold_or_none(text):
    return fold(text) if isinstance(text, str) else text


# --------------------------------------------------------------------- Turkish order

ALPHABET = "abcçdefgğhıijklmnoöpqrsştuüvwxyz"  # q, w, x where ICU's Turkish puts them
_RANK = {letter: n for n, letter in enumerate(ALPHABET)}
_TURKISH_LOWER = str.maketrans({"I": "ı", "İ": "i"})


@lru_cache(maxsize=65536)
def sort_key(text: str) -> str:
    """A key that orders texts as ICU's Turkish collation does for names: letters by the
    Turkish alphabet, case and accents only breaking ties (lower case first), spaces and
    punctuation before digits before letters. A string (compared in C, and small in the
    cache): each level's characters as (class, value) pairs, the levels apart by NUL."""
    lowered = text.translate(_TURKISH_LOWER).lower()
    primary, secondary = [], []
    for char in lowered:
        accent = 0
        if char in _RANK:
            kind, value = 3, _RANK[char]
        elif (base := unicodedata.normalize("NFD", char)[0]) in _RANK:
            kind, value, accent = 3, _RANK[base], 1  # é, â: the letter, the accent a tie
        elif char.isdigit():
            kind, value = 2, unicodedata.digit(char, 0)
        else:
            kind, value = (4 if char.isalpha() else 1), ord(char)
        primary.append(chr(kind) + chr(min(value + 1, 0x10FFFF)))
        secondary.append(chr(accent + 1))
    tertiary = "".join("\x02" if c.isupper() else "\x01" for c in text)
    return "\x00".join(("".join(primary), "".join(secondary), tertiary, text))


def comparing(key=sort_key):
    """A SQLite collation function: -1, 0 or 1 as `key` orders the two texts (the bench
    seed's load passes a `sort_key` that keeps every key)."""
    def compare(left: str, right: str) -> int:
        a, b = key(left), key(right)
        return (a > b) - (a < b)
    return compare


compare = comparing()  # the SQLite collation `turkish`


def register_sqlite(dbapi_connection) -> None:
    """Give a SQLite connection the folding function and the Turkish collation."""
    dbapi_connection.create_function(SQLITE_FUNCTION, 1, _fold_or_none, deterministic=True)
    dbapi_connection.create_collation(COLLATION, compare)


def has_icu(bind) -> bool:
    """Whether a PostgreSQL server has the Turkish ICU collation (asked once per engine)."""
    engine = getattr(bind, "engine", bind)
    known = _ICU.get(engine.url)
    if known is None:
        with engine.connect() as conn:
            known = _ICU[engine.url] = bool(conn.exec_driver_sql(
                "SELECT 1 FROM pg_collation WHERE collname = %(name)s",
                {"name": ICU_COLLATION}).scalar())
    return known


_ICU: dict = {}


def reader_order(column, bind, language: str | None):
    """`column` as a list sorts it for a reader of `language`: in Turkish order for a
    Turkish reader (the ICU collation on PostgreSQL, when the server has it; `turkish` on
    SQLite), else as it is (the plain indexes serve it)."""
    if language != "tr":
        return column
    dialect = bind.dialect.name
    if dialect == "postgresql" and has_icu(bind):
        return column.collate(ICU_COLLATION)
    if dialect == "sqlite":
        return column.collate(COLLATION)
    return column
