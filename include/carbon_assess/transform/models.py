"""The SQL models: one `sql/<table>.sql` SELECT per table, ordered by their own references.

As dbt derives its DAG from `ref()`, the order here is derived from the SQL: a model depends on
every other model whose name appears in its text (comments and string literals aside). Nothing
lists the models or their order by hand; adding `sql/fct_x.sql` adds the table `fct_x` in the
right place. Sources (tables the runner loads before any model) are `ref_<reference table>`,
`raw_energy`, `raw_economy`, `raw_flagged_cells`, `sheet_<kind>` and `run_parameters`
(`transform.load_statistics`).

A model is a table unless its SQL says `-- materialized: view` (see `Model.materialized`).

Macros shared by several models (one tolerance, one definition of "reaches a target") live in
`sql/macros/*.sql` and are created on the connection before the models run.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from carbon_assess.errors import CarbonAssessError
from carbon_assess.model_schema import SQL_DIR

MACROS_DIR = SQL_DIR / "macros"
MODEL_PREFIXES = ("stg_", "int_", "dim_", "fct_")

_COMMENT = re.compile(r"--[^\n]*")
_STRING = re.compile(r"'(?:[^']|'')*'")
_WORD = re.compile(r"\b[a-z_][a-z0-9_]*\b")


VIEW_MARKER = re.compile(r"^--\s*materialized:\s*view\s*$", re.MULTILINE)


@dataclass(frozen=True)
class Model:
    name: str
    path: Path
    depends_on: tuple[str, ...]  # other models this one reads

    @property
    def sql(self) -> str:
        return self.path.read_text(encoding="utf-8")

    @property
    def materialized(self) -> str:
        """`view` when the SQL says `-- materialized: view` (as dbt's config): a projection or
        filter of one big table (50M activity rows at county scale) that a table would copy
        whole; `table` otherwise."""
        return "view" if VIEW_MARKER.search(self.sql) else "table"


def referenced_names(sql: str) -> set[str]:
    """Identifiers a SQL text uses, without comments and string literals."""
    code = _STRING.sub("''", _COMMENT.sub("", sql))
    return set(_WORD.findall(code.lower()))


@cache
def models(sql_dir: Path = SQL_DIR) -> dict[str, Model]:
    """Every model, in an order where each comes after the models it reads (ties by name)."""
    paths = {p.stem: p for p in sorted(sql_dir.glob("*.sql")) if p.stem.startswith(MODEL_PREFIXES)}
    depends = {
        name: tuple(sorted(referenced_names(path.read_text(encoding="utf-8")) & set(paths)
                           - {name}))
        for name, path in paths.items()
    }
    ordered: list[str] = []
    done: set[str] = set()
    visiting: set[str] = set()

    def visit(name: str, chain: tuple[str, ...]) -> None:
        if name in done:
            return
        if name in visiting:
            cycle = " -> ".join((*chain[chain.index(name):], name))
            raise CarbonAssessError(f"SQL models reference each other in a cycle: {cycle}")
        visiting.add(name)
        for dependency in depends[name]:
            visit(dependency, (*chain, name))
        visiting.discard(name)
        done.add(name)
        ordered.append(name)

    for name in sorted(paths):
        visit(name, ())
    return {name: Model(name, paths[name], depends[name]) for name in ordered}


def upstream(names: Iterable[str]) -> set[str]:
    """The models `names` and every model they read, directly or not."""
    graph = models()
    found: set[str] = set()
    pending = list(names)
    while pending:
        name = pending.pop()
        if name in found:
            continue
        if name not in graph:
            raise KeyError(f"no SQL model {name!r} in {SQL_DIR}")
        found.add(name)
        pending.extend(graph[name].depends_on)
    return found


def in_order(names: Iterable[str]) -> tuple[str, ...]:
    """`names` in dependency order."""
    wanted = set(names)
    return tuple(name for name in models() if name in wanted)


def create_macros(con: Any) -> None:
    """Create the shared SQL macros on a connection (before any model runs)."""
    for path in sorted(MACROS_DIR.glob("*.sql")):
        con.execute(path.read_text(encoding="utf-8"))


def run_models(con: Any, names: Iterable[str]) -> dict[str, int]:
    """Materialise the models `names` (in dependency order) as tables or views; return the row
    counts of the tables (a view is computed where it is read: counting it here would compute
    it, e.g. both emission methods for every activity row).

    The models they read must exist on `con` already, or be among `names`."""
    counts = {}
    graph = models()
    for name in in_order(names):
        model = graph[name]
        con.execute(f"create or replace {model.materialized} {name} as {model.sql}")
        if model.materialized == "table":
            counts[name] = con.execute(f"select count(*) from {name}").fetchall()[0][0]
    return counts
