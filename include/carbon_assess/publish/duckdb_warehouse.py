"""The embedded DuckDB warehouse (the `Dialect` of `warehouse.Warehouse` for one DuckDB file).

A publish is one DuckDB transaction (DuckDB DDL is transactional): readers see the old release
or the new one, never a mix; a crash before COMMIT leaves the previous release as it was.
DuckDB's file lock is the publish lock (one writer per file; a second one waits up to the lock
timeout).

Inside that transaction the run's rows are written once: `INSERT INTO carbon_history.<table>
... SELECT ... ORDER BY key` straight from the attached compute.duckdb (no rows through Python;
the history table's primary key, where the catalog keeps one, refuses a duplicated key). Then
`carbon.<table>` becomes the view `select <columns> from carbon_history.<table> where release_id
= '<run id>'` and `carbon_previous.<table>` the same view of the outgoing release. A release's
rows are appended after the earlier releases' row groups, so a read of one release skips the
others by their zone maps on release_id. A rollback re-creates the views (no row is copied).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

from carbon_assess.errors import WarehouseError
from carbon_assess.publish.catalog import (
    META_TABLES,
    PUBLISHED_TABLES,
    VIEWS,
    Table,
    comment_statements,
    history_table,
    quote_ident,
    row_order,
    sql_literal,
)
from carbon_assess.publish.common import HISTORY_SCHEMA, PREVIOUS_SCHEMA, SCHEMA
from carbon_assess.settings import duckdb_connect
from carbon_assess.workdir import Run


def connect_warehouse(path: Path, read_only: bool = False, wait: float = 0.0,
                      create: bool = True) -> Any:
    """Open the warehouse file, waiting up to `wait` seconds while another process writes it
    (DuckDB: one writer, and no reader beside a writer). `read_only` or `create=False`: a
    missing file is a WarehouseError naming the path, never a new empty warehouse."""
    import duckdb

    if (read_only or not create) and not path.exists():
        raise WarehouseError(f"warehouse {path} does not exist; run `carbon-assess run` first")
    deadline = time.monotonic() + wait
    while True:
        try:
            # bounded memory (a 50M-row release is sorted and copied; DuckDB spills beside
            # the warehouse file beyond the limit)
            return duckdb_connect(path, path.parent / f"{path.name}.tmp", keep_order=True,
                                  read_only=read_only)
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower():
                raise WarehouseError(f"cannot open warehouse {path}: {exc}") from None
            if time.monotonic() >= deadline:
                holder = re.search(r"\(PID (\d+)\)", str(exc))
                by = f" (PID {holder[1]})" if holder else ""
                waited = f"gave up after waiting {wait:g} s, " if wait else ""
                raise WarehouseError(
                    f"warehouse {path} is in use by another process{by}: DuckDB allows one "
                    f"writer and no reader beside it, e.g. while a publish runs; {waited}retry "
                    "when it has finished"
                ) from None
            time.sleep(0.1)


@contextmanager
def _errors(path: Path, action: str) -> Iterator[None]:
    """DuckDB errors (constraint violations, I/O ...) as one-line WarehouseErrors."""
    import duckdb

    try:
        yield
    except duckdb.Error as exc:
        text = " ".join(line.strip() for line in str(exc).splitlines() if line.strip())
        raise WarehouseError(f"{action} to {path} failed: {text[:400]}") from None


def _key(doc: Table | None, names: Iterable[str]) -> list[str]:
    """The primary key DuckDB keeps for `doc`: none for the tables the catalog leaves unindexed
    (an ART index of 100M keys must fit in memory)."""
    if doc is None or not doc.key_indexed or not doc.primary_key:
        return []
    return list(doc.primary_key) if set(doc.primary_key) <= set(names) else []


class DuckDBDialect:
    """One DuckDB file as a warehouse."""

    kind = "duckdb"

    def __init__(self, path: Path):
        self.path = path
        self.where = str(path)

    # ---------------------------------------------------------------- sessions

    @contextmanager
    def open(self, action: str, *, wait: float, create: bool) -> Iterator[Any]:
        if create:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        with connect_warehouse(self.path, wait=wait, create=create) as con, \
                _errors(self.path, action):
            yield con

    @contextmanager
    def open_read(self, wait: float = 0.0) -> Iterator[Any | None]:
        if not self.path.exists():
            yield None
            return
        with connect_warehouse(self.path, read_only=True, wait=wait) as con, \
                _errors(self.path, "read"):
            yield con

    def lock(self, con: Any, action: str, wait: float) -> Any:
        return nullcontext()  # the file lock, taken by `open`

    def check_lock(self, lock: Any, action: str) -> None:
        return None

    @contextmanager
    def transaction(self, con: Any) -> Iterator[None]:
        con.execute("begin transaction")
        try:
            yield
        except BaseException:
            con.execute("rollback")
            raise
        con.execute("commit")

    # ---------------------------------------------------------------- SQL

    def rows(self, con: Any, sql: str, params: Iterable[Any] = ()) -> list[tuple]:
        cursor = con.execute(sql, list(params))
        return cursor.fetchall() if cursor.description else []

    def dict_rows(self, con: Any, sql: str, params: Iterable[Any] = ()) -> list[dict]:
        cursor = con.execute(sql, list(params))
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def quote(self, *names: str) -> str:
        return ".".join(quote_ident(n) for n in names)

    def type_name(self, duck_type: str, where: str) -> str:
        return duck_type

    def relations(self, con: Any, schema: str, views: bool = False) -> list[str]:
        kinds = ["BASE TABLE", "VIEW"] if views else ["BASE TABLE"]
        return [r[0] for r in con.execute(
            "select table_name from information_schema.tables where table_schema = ? "
            "and table_type in (select unnest(?)) and table_catalog = current_database() "
            "order by 1", [schema, kinds]).fetchall()]

    def columns(self, con: Any, schema: str, name: str) -> list[str]:
        return [c for c, _ in self._typed_columns(con, schema, name)]

    def typed_columns(self, con: Any, schema: str, name: str) -> list[tuple[str, str]]:
        return self._typed_columns(con, schema, name)

    def _typed_columns(self, con: Any, schema: str, name: str,
                       catalog: str | None = None) -> list[tuple[str, str]]:
        return [(r[0], r[1]) for r in con.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_catalog = coalesce(?, current_database()) and table_schema = ? "
            "and table_name = ? order by ordinal_position", [catalog, schema, name]).fetchall()]

    def schema_exists(self, con: Any, schema: str) -> bool:
        return bool(con.execute("select 1 from information_schema.schemata where schema_name = ?"
                                " and catalog_name = current_database()", [schema]).fetchall())

    def upsert(self, con: Any, schema: str, name: str, row: dict[str, Any],
               key: tuple[str, ...]) -> None:
        con.execute(f"insert or replace into {self.quote(schema, name)} "
                    f"({', '.join(quote_ident(c) for c in row)}) "
                    f"values ({', '.join('?' for _ in row)})", list(row.values()))

    def create_table(self, con: Any, schema: str, name: str, columns: list[tuple[str, str]],
                     doc: Table | None, if_not_exists: bool = False) -> None:
        parts = [f"{quote_ident(c)} {t}" for c, t in columns]
        key = _key(doc, (c for c, _ in columns))
        if key:
            parts.append(f"primary key ({', '.join(quote_ident(c) for c in key)})")
        exists = "if not exists " if if_not_exists else ""
        con.execute(f"create table {exists}{self.quote(schema, name)} ({', '.join(parts)})")

    def after_base(self, con: Any) -> None:
        return None

    def load_validation(self, con: Any, path: Path) -> None:
        con.execute(
            f"insert into {self.quote(SCHEMA, 'meta_validation_result')} by name "
            "select run_id, source, expectation, \"column\", severity, success, "
            "unexpected_count, examples from read_parquet(?) order by all", [str(path)])

    def create_history_table(self, con: Any, name: str, columns: list[tuple[str, str]],
                             doc: Table) -> None:
        self.create_table(con, HISTORY_SCHEMA, name, columns, doc)

    def rekey(self, con: Any, name: str, key: list[str], have: list[str]) -> None:
        """DuckDB cannot drop a primary key: a history table keyed otherwise by an older release
        (issue 13: province_code -> region_code) is rebuilt with the new key, once."""
        key = _key(history_table(name), have)
        found = con.execute(
            "select constraint_column_names from duckdb_constraints() where schema_name = ? "
            "and table_name = ? and constraint_type = 'PRIMARY KEY' and database_name = "
            "current_database()", [HISTORY_SCHEMA, name]).fetchall()
        old = list(found[0][0]) if found else []
        if not old or old == key:
            return
        target, old_name = self.quote(HISTORY_SCHEMA, name), name + "__rekey"
        columns = self._typed_columns(con, HISTORY_SCHEMA, name)
        con.execute(f"alter table {target} rename to {quote_ident(old_name)}")
        self.create_table(con, HISTORY_SCHEMA, name, columns, history_table(name))
        con.execute(f"insert into {target} select * from {self.quote(HISTORY_SCHEMA, old_name)}")
        con.execute(f"drop table {self.quote(HISTORY_SCHEMA, old_name)}")

    def check_layouts(self, layouts: dict[str, list[tuple[str, str]]]) -> None:
        return None

    # ---------------------------------------------------------------- publish and rollback

    @contextmanager
    def publishing(self, con: Any, lock: Any, run: Run, layouts: dict[str, list],
                   counts: dict[str, int]) -> Iterator[None]:
        con.execute("attach ? as compute (read_only)", [str(run.compute_db)])
        try:
            with self.transaction(con):
                yield
        finally:
            con.execute("detach compute")

    def lock_release(self, con: Any, wait: float) -> None:
        return None  # the file lock

    def write_release(self, con: Any, name: str, release_id: str, columns: list[str],
                      republished: bool) -> int:
        """One INSERT ... SELECT ... ORDER BY key from compute.duckdb (an INSERT keeps the
        order of its SELECT): appended after the earlier releases' row groups."""
        import duckdb

        target = self.quote(HISTORY_SCHEMA, name)
        if republished:
            con.execute(f"delete from {target} where release_id = ?", [release_id])
        select = ", ".join(quote_ident(c) for c in columns)
        order = ", ".join(quote_ident(c) for c in row_order(name, columns))
        try:
            return con.execute(
                f"insert into {target} (release_id, {select}) select ?, {select} from "
                f"compute.main.{quote_ident(name)} order by {order}", [release_id]
            ).fetchall()[0][0]
        except duckdb.ConstraintException as exc:
            key = ", ".join(_key(history_table(name), ["release_id", *columns])[1:])
            detail = " ".join(str(exc).split())
            broken = "a duplicated key" if "duplicate" in detail.lower() else "a null in its key"
            raise WarehouseError(f"publish to {self.path} failed: {name} has {broken} ({key}): "
                                 f"{detail[:300]}") from None

    def copy_release(self, con: Any, name: str, release_id: str, columns: list[str],
                     source: str, fill: dict[str, str]) -> None:
        select = [quote_ident(c) for c in columns]
        order = ", ".join(quote_ident(c) for c in row_order(name, columns))
        con.execute(
            f"insert into {self.quote(HISTORY_SCHEMA, name)} (release_id, "
            f"{', '.join([*select, *(quote_ident(c) for c in fill)])}) select ?, "
            f"{', '.join([*select, *fill.values()])} from {source} order by {order}",
            [release_id])

    def point(self, con: Any, schema: str, release_id: str | None,
              tables: dict[str, list[str]]) -> None:
        base = set(self.relations(con, schema))
        for name in self.relations(con, schema, views=True):
            if name in PUBLISHED_TABLES and (name in base or (
                    schema == PREVIOUS_SCHEMA and (release_id is None or name not in tables))):
                con.execute(f"drop {'table' if name in base else 'view'} "
                            f"{self.quote(schema, name)}")
        if release_id is None:
            return
        for name, columns in tables.items():
            con.execute(f"create or replace view {self.quote(schema, name)} as select "
                        f"{', '.join(quote_ident(c) for c in columns)} from "
                        f"{self.quote(HISTORY_SCHEMA, name)} where release_id = "
                        f"{sql_literal(release_id)}")

    def finish(self, con: Any) -> None:
        """The analyst views (they bind by name) and the documentation of schema carbon."""
        for view in VIEWS:
            con.execute(f"create or replace view {SCHEMA}.{view.name} as "
                        f"{view.sql.format(schema=SCHEMA)}")
        present = {name: self.columns(con, SCHEMA, name)
                   for name in (*PUBLISHED_TABLES, *META_TABLES, *(v.name for v in VIEWS))}
        views = [*(v.name for v in VIEWS),
                 *(n for n in PUBLISHED_TABLES if n not in self.relations(con, SCHEMA))]
        for statement in comment_statements(SCHEMA, {k: v for k, v in present.items() if v},
                                            views=views):
            con.execute(statement)

    def result_extras(self) -> dict[str, Any]:
        return {}
