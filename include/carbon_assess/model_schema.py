"""The schema file beside each SQL model, as dbt's `schema.yml`: `sql/<model>.yml` says what the
model is, its columns with types and units, its key and its tests. Everything else is generated
from these files: the catalog of the published warehouse (`publish.catalog`), its `COMMENT ON`
statements and `docs/data_dictionary.md` (`schema_docs`), and the output gate's rules
(`validate.output_suites`). A test builds every model and fails when a column is undocumented,
documented but not produced, or of another type.

    description: One row per ...
    key: [plan_id, region_code, year]   # the grain (primary key of a published table)
    key_indexed: false                  # optional, see Table.key_indexed
    indexes: [[region_code, year]]      # optional: PostgreSQL indexes analysts' queries need
    inherit: fct_intensity              # optional: where bare column names are documented
    columns:
      - plan_id                         # bare name: the column of `inherit`, else of _columns.yml
      - {shared: unit_province_code}    # a column of _columns.yml by its key, fields overridable
      - name: year
        type: BIGINT                    # DuckDB type (publish.catalog.PG_TYPES)
        unit: year
        description: Calendar year
    tests:                              # the output gate's rules, in order (output_suites)
      - unique_key

The kind follows the name (`stg_` staging, `int_` intermediate, `dim_` dimension, `fct_` fact;
dimensions and facts are published), unless the file says `kind:`. `_columns.yml` holds the
columns several models share, so that each is described once. Files of other folders (the
run-log tables and analyst views of `publish/schema`) use the same format; a view's SELECT is
the `.sql` file beside its yml.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from carbon_assess.errors import CarbonAssessError

# the SQL models and their yml files; a module of its own, outside the transform package, so
# that reading the metadata (the catalog, the plugin) imports no engine
SQL_DIR = Path(__file__).resolve().parent / "transform" / "sql"

SHARED_COLUMNS = SQL_DIR / "_columns.yml"
KINDS = {"stg_": "staging", "int_": "intermediate", "dim_": "dimension", "fct_": "fact",
         "meta_": "run log", "v_": "view"}
_FILE_KEYS = {"description", "kind", "key", "key_indexed", "indexes", "inherit", "columns",
              "tests"}
_COLUMN_KEYS = {"name", "type", "description", "unit", "shared"}


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # DuckDB type name, see publish.catalog.PG_TYPES
    description: str
    unit: str = ""

    def comment(self) -> str:
        """The COMMENT ON text: the description with the unit in brackets."""
        return f"{self.description} [{self.unit}]" if self.unit else self.description


@dataclass(frozen=True)
class Table:
    name: str
    kind: str  # staging | intermediate | dimension | fact | run log | view | history
    description: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...] = ()
    # False for the fuel-level facts (tens of millions of rows at county scale): the key is the
    # grain and the row order, unique by construction (the raw suites refuse a duplicate
    # region-year-variable-fuel), but the embedded DuckDB warehouse does not index it: an ART
    # index of 100M keys must fit in memory. PostgreSQL keeps it (a B-tree on disk).
    key_indexed: bool = True
    indexes: tuple[tuple[str, ...], ...] = field(default=())
    sql: str = ""  # views only: a SELECT over `{schema}.<table>`, valid in DuckDB and PostgreSQL
    tests: tuple[Mapping[str, Any], ...] = field(default=(), compare=False)

    def column(self, name: str) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(f"{self.name}.{name}")

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


def _read(path: Path) -> dict[str, Any]:
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C parser: 10x faster
    data = yaml.load(path.read_text(encoding="utf-8"), Loader=loader)
    if not isinstance(data, dict):
        raise CarbonAssessError(f"{path}: expected a mapping")
    return data


def _column(spec: Mapping[str, Any], where: str) -> Column:
    unknown = set(spec) - _COLUMN_KEYS
    missing = {"name", "type", "description"} - set(spec)
    if unknown or missing:
        raise CarbonAssessError(f"{where}: unknown keys {sorted(unknown)}, missing "
                                f"{sorted(missing)}")
    return Column(spec["name"], spec["type"], " ".join(str(spec["description"]).split()),
                  str(spec.get("unit", "")))


class _Resolver:
    """Turns the raw files into Tables, following `inherit` and `shared` references."""

    def __init__(self, raw: dict[str, tuple[Path, dict[str, Any]]],
                 shared: dict[str, dict[str, Any]]) -> None:
        self.raw, self.shared = raw, shared
        self.done: dict[str, Table] = {}
        self.busy: set[str] = set()

    def table(self, name: str) -> Table:
        if name in self.done:
            return self.done[name]
        if name in self.busy:
            raise CarbonAssessError(f"{name}: inherit cycle")
        self.busy.add(name)
        path, data = self.raw[name]
        unknown = set(data) - _FILE_KEYS
        if unknown:
            raise CarbonAssessError(f"{path}: unknown keys {sorted(unknown)}")
        parent = self.table(data["inherit"]) if data.get("inherit") else None
        columns = tuple(self._entry(entry, parent, f"{path}") for entry in data["columns"])
        kind = data.get("kind") or next(
            (k for prefix, k in KINDS.items() if name.startswith(prefix)), "")
        view_sql = path.with_suffix(".sql")
        result = Table(
            name, kind, " ".join(str(data["description"]).split()), columns,
            primary_key=tuple(data.get("key", ())),
            key_indexed=bool(data.get("key_indexed", True)),
            indexes=tuple(tuple(ix) for ix in data.get("indexes", ())),
            sql=view_sql.read_text(encoding="utf-8") if kind == "view" else "",
            tests=tuple(t if isinstance(t, dict) else {"test": t} for t in data.get("tests", ())),
        )
        names = result.column_names
        for what, wanted in (("key", result.primary_key), *(("index", ix) for ix in
                                                            result.indexes)):
            if not set(wanted) <= set(names):
                raise CarbonAssessError(f"{path}: {what} {wanted} names an undocumented column")
        if len(set(names)) != len(names):
            raise CarbonAssessError(f"{path}: a column is documented twice")
        self.busy.discard(name)
        self.done[name] = result
        return result

    def _entry(self, entry: str | Mapping[str, Any], parent: Table | None, where: str) -> Column:
        if isinstance(entry, str):
            if parent and entry in parent.column_names:
                return parent.column(entry)
            if entry not in self.shared:
                raise CarbonAssessError(f"{where}: column {entry!r} is neither in the inherited "
                                        f"model nor in {SHARED_COLUMNS.name}")
            return _column({"name": entry, **self.shared[entry]}, where)
        if "shared" in entry:
            key = entry["shared"]
            base = {"name": key, **self.shared[key]}
            return _column({**base, **{k: v for k, v in entry.items() if k != "shared"}}, where)
        if parent and entry.get("name") in parent.column_names:  # the parent's, overridden
            return _column({**parent.column(entry["name"]).__dict__, **entry}, where)
        return _column(entry, where)


def load_schemas(*directories: Path) -> dict[str, Table]:
    """Every `<name>.yml` of `directories` (not `_*.yml`), by name, in name order."""
    shared = _read(SHARED_COLUMNS)
    raw = {path.stem: (path, _read(path))
           for directory in directories for path in sorted(directory.glob("*.yml"))
           if not path.name.startswith("_")}
    resolver = _Resolver(raw, shared)
    return {name: resolver.table(name) for name in sorted(raw)}


@cache
def model_schemas() -> dict[str, Table]:
    """The schema file of every SQL model (`transform/sql/<model>.yml`), by model name."""
    return load_schemas(SQL_DIR)


def model_schema(name: str) -> Table:
    return model_schemas()[name]


def tested_models() -> tuple[str, ...]:
    """The models whose schema file lists tests: the tables the output gate checks."""
    return tuple(name for name, t in model_schemas().items() if t.tests)


__all__ = ["Column", "SHARED_COLUMNS", "Table", "load_schemas", "model_schema", "model_schemas",
           "tested_models"]
