"""The catalog of schema `carbon`: what is published, generated from the schema files.

The dimensions and facts are the SQL models `dim_*` and `fct_*`; each is documented by the yml
beside its SQL (`transform/sql/<model>.yml`, loaded by `model_schema`): description, grain
(primary key), indexes, and every column's type, unit and description. What is published but is
no model lives in `publish/schema/`: the run-log tables (`meta_*.yml`), the analyst views
(`v_*.yml`, their SELECT in `v_*.sql`, one SQL text for DuckDB and PostgreSQL) and the release
dimension of the history schema (`dim_release.yml`). From these files come:

- `docs/data_dictionary.md` (`python -m carbon_assess.schema_docs`; a test keeps it up to date),
- `COMMENT ON` statements applied at every publish, in DuckDB and in PostgreSQL,
- the primary keys, indexes and row order of the published tables, and the analyst views.

The column *types* of the published tables are those the compute SQL produces; the types in the
yml document them, and the tests fail when the two disagree, when a column is not documented or
when a documented column is no longer produced.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from carbon_assess.model_schema import Column, Table, load_schemas, model_schemas

SCHEMA_DIR = Path(__file__).resolve().parent / "schema"

# DuckDB type (as in information_schema.columns.data_type) → PostgreSQL type. Same semantics in
# both: VARCHAR ↔ text, DOUBLE ↔ double precision, INTEGER/BIGINT/BOOLEAN ↔ same names,
# TIMESTAMP WITH TIME ZONE ↔ timestamptz.
PG_TYPES = {
    "VARCHAR": "text",
    "DOUBLE": "double precision",
    "FLOAT": "real",
    "SMALLINT": "smallint",
    "INTEGER": "integer",
    "BIGINT": "bigint",
    "HUGEINT": "numeric(38, 0)",
    "BOOLEAN": "boolean",
    "DATE": "date",
    "TIMESTAMP": "timestamp without time zone",
    "TIMESTAMP WITH TIME ZONE": "timestamp with time zone",
}

_PUBLISHED_KINDS = ("dimension", "fact")
_OWN = load_schemas(SCHEMA_DIR)  # files of publish/schema (they may name shared columns)
_MODELS = model_schemas()

# Dimensions, facts (the published models, by name within each kind), then the run-log tables.
TABLES: tuple[Table, ...] = (
    *(t for kind in _PUBLISHED_KINDS for t in _MODELS.values() if t.kind == kind),
    *(t for t in _OWN.values() if t.kind == "run log"),
)
VIEWS: tuple[Table, ...] = tuple(t for t in _OWN.values() if t.kind == "view")

META_TABLES = tuple(t.name for t in TABLES if t.kind == "run log")
# What a publish puts in `carbon` (as views of the release in carbon_history): every dimension
# and fact the catalog documents, in catalog order.
PUBLISHED_TABLES = tuple(t.name for t in TABLES if t.kind in _PUBLISHED_KINDS)

_BY_NAME = {t.name: t for t in TABLES + VIEWS}


def table(name: str) -> Table:
    return _BY_NAME[name]


def documented(name: str) -> Table | None:
    return _BY_NAME.get(name)


def row_order(name: str, columns: list[str] | tuple[str, ...]) -> list[str]:
    """The deterministic row order of a published table: its primary key (unique: indexed, or
    unique by construction), or, for a table without a key, every column. A sort on the key
    alone matters at county scale: sorting 50M rows on every column (lineage text included) costs
    several times more for the same order."""
    doc = documented(name)
    key = [c for c in (doc.primary_key if doc else ()) if c in columns]
    if key and doc and len(key) == len(doc.primary_key):
        return key
    return key + [c for c in columns if c not in key]


def sql_literal(text: str) -> str:
    """A standard SQL string literal (DuckDB and PostgreSQL with standard_conforming_strings)."""
    return "'" + text.replace("'", "''") + "'"


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _comments(schema: str, tables: Iterable[Table], present: Mapping[str, Iterable[str]],
              views: Iterable[str] = ()) -> list[str]:
    """`COMMENT ON` the tables of `tables` in `present` (name → its actual columns) and their
    documented columns; an undocumented column gets no comment (the docs test reports it)."""
    view_names = set(views)
    statements = []
    for t in tables:
        if t.name not in present:
            continue
        kind = "view" if t.name in view_names or t.kind == "view" else "table"
        target = f"{quote_ident(schema)}.{quote_ident(t.name)}"
        statements.append(f"comment on {kind} {target} is {sql_literal(t.description)}")
        documented = {c.name: c for c in t.columns}
        statements += [f"comment on column {target}.{quote_ident(name)} "
                       f"is {sql_literal(documented[name].comment())}"
                       for name in present[t.name] if name in documented]
    return statements


def comment_statements(
    schema: str,
    present: Mapping[str, Iterable[str]],
    views: Iterable[str] = (),
) -> list[str]:
    """`COMMENT ON` statements for the documented tables/views of schema `schema` in `present`."""
    return _comments(schema, TABLES + VIEWS, present, views)


# ---------------------------------------------------------------------------------- history

# Schema `carbon_history`: every published release, kept across publishes and rollbacks.
HISTORY_SCHEMA = "carbon_history"
RELEASE_DIMENSION = _OWN["dim_release"]
RELEASE_ID = RELEASE_DIMENSION.column("release_id")


def _history_table(t: Table) -> Table:
    return Table(
        t.name, "history",
        f"Every release's rows of {t.name} (same columns as carbon.{t.name}, keyed by "
        "release_id first).",
        (RELEASE_ID, *t.columns),
        primary_key=("release_id", *t.primary_key) if t.primary_key else (),
        indexes=() if t.primary_key else (("release_id",),),
        key_indexed=t.key_indexed,
    )


# The published tables as kept per release in `carbon_history` (same names as in `carbon`).
HISTORY_TABLES = tuple(_history_table(t) for t in TABLES if t.name in PUBLISHED_TABLES)
_HISTORY_BY_NAME = {t.name: t for t in (RELEASE_DIMENSION, *HISTORY_TABLES)}


def history_table(name: str) -> Table:
    """`dim_release` or the history form of a published table."""
    return _HISTORY_BY_NAME[name]


def history_comment_statements(present: Mapping[str, Iterable[str]]) -> list[str]:
    """`COMMENT ON` statements for the tables of schema carbon_history in `present`."""
    return _comments(HISTORY_SCHEMA, (RELEASE_DIMENSION, *HISTORY_TABLES), present)


__all__ = [
    "HISTORY_SCHEMA", "HISTORY_TABLES", "META_TABLES", "PG_TYPES", "PUBLISHED_TABLES",
    "RELEASE_DIMENSION", "RELEASE_ID", "SCHEMA_DIR", "TABLES", "VIEWS", "Column", "Table",
    "comment_statements", "documented", "history_comment_statements", "history_table",
    "quote_ident", "row_order", "sql_literal", "table",
]
