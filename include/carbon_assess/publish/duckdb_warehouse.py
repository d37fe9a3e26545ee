"""The embedded DuckDB warehouse (the `Dialect` of `warehouse.Warehouse` for one DuckDB file).

A publish is one DuckDB transaction (DuckDB DDL is transactional): readers see the old release
or the new one, never a mix; a crash before COMMIT leaves the previous release as it was.
DuckDB's file lock is the publish lock (one writer per file; a second one waits up to the lock
timeout).

Inside that transaction the run's tables are staged beside the current ones
(`carbon.<table>__staged`, built by `INSERT ... SELECT ... ORDER BY key` straight from the
attached compute.duckdb: one sorted copy, no rows through Python), appended to the history, and
renamed into place. DuckDB cannot move a table to another schema, so the outgoing release is not
copied into `carbon_previous`: its tables there are views on the outgoing release's rows in
`carbon_history` (a warehouse whose current release predates the history gets copies). A
rollback copies `carbon_previous` back into `carbon` and makes the outgoing release the views.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Iterator
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
    table,
)
from carbon_assess.publish.common import HISTORY_SCHEMA, PREVIOUS_SCHEMA, SCHEMA
from carbon_assess.settings import duckdb_connect
from carbon_assess.workdir import Run

STAGED_SUFFIX = "__staged"


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

    def append_history(self, con: Any, name: str, release_id: str, columns: list[str],
                       source: str, republished: bool) -> None:
        """An INSERT appends row groups after the earlier releases' (zone maps on release_id
        keep a read of one release from scanning the others)."""
        target = self.quote(HISTORY_SCHEMA, name)
        if republished:
            con.execute(f"delete from {target} where release_id = ?", [release_id])
        select = ", ".join(quote_ident(c) for c in columns)
        # the staged table is in key order, and an INSERT ... SELECT keeps a scan's order
        con.execute(f"insert into {target} (release_id, {select}) select ?, {select} "
                    f"from {source}", [release_id])

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

    @staticmethod
    def _staged(name: str) -> str:
        return f"{quote_ident(SCHEMA)}.{quote_ident(name + STAGED_SUFFIX)}"

    def _stage(self, con: Any, source: str, name: str, columns: list[tuple[str, str]]) -> None:
        """carbon.<name>__staged: the rows of `source`, in key order, with the kept key (a
        table without one, i.e. the large facts, in one CREATE TABLE AS)."""
        con.execute(f"drop table if exists {self._staged(name)}")
        names = [c for c, _ in columns]
        select = ", ".join(quote_ident(c) for c in names)
        query = (f"select {select} from {source} order by "
                 + ", ".join(quote_ident(c) for c in row_order(name, names)))
        doc = table(name) if name in PUBLISHED_TABLES else None
        if not _key(doc, names):
            con.execute(f"create table {self._staged(name)} as {query}")
            return
        self.create_table(con, SCHEMA, name + STAGED_SUFFIX, columns, doc)
        con.execute(f"insert into {self._staged(name)} ({select}) {query}")

    @contextmanager
    def publishing(self, con: Any, lock: Any, run: Run, layouts: dict[str, list],
                   counts: dict[str, int]) -> Iterator[Callable[[str], str]]:
        con.execute("attach ? as compute (read_only)", [str(run.compute_db)])
        try:
            with self.transaction(con):
                for name in PUBLISHED_TABLES:
                    self._stage(con, f"compute.main.{quote_ident(name)}", name, layouts[name])
                    counts[name] = con.execute(f"select count(*) from {self._staged(name)}"
                                               ).fetchall()[0][0]
                yield self._staged
        finally:
            con.execute("detach compute")

    def _keep_previous(self, con: Any, outgoing: str | None, in_history: bool) -> None:
        """`carbon_previous` := the release now in `carbon`: views on its history rows, or
        copies when the history does not hold it."""
        for name in self.relations(con, PREVIOUS_SCHEMA, views=True):
            kind = "view" if name not in self.relations(con, PREVIOUS_SCHEMA) else "table"
            con.execute(f"drop {kind} {self.quote(PREVIOUS_SCHEMA, name)}")
        history = set(self.relations(con, HISTORY_SCHEMA))
        for name in self.relations(con, SCHEMA):
            if name not in PUBLISHED_TABLES:
                continue
            names = self.columns(con, SCHEMA, name)
            kept = (in_history and name in history
                    and set(names) <= set(self.columns(con, HISTORY_SCHEMA, name)))
            target = self.quote(PREVIOUS_SCHEMA, name)
            if kept:
                con.execute(f"create view {target} as select "
                            f"{', '.join(quote_ident(c) for c in names)} from "
                            f"{self.quote(HISTORY_SCHEMA, name)} where release_id = "
                            f"{sql_literal(str(outgoing))}")
            else:
                con.execute(f"create table {target} as select * from {self.quote(SCHEMA, name)}")

    def _replace(self, con: Any, names: list[str]) -> None:
        for name in names:
            con.execute(f"drop table if exists {self.quote(SCHEMA, name)}")
            con.execute(f"alter table {self._staged(name)} rename to {quote_ident(name)}")

    def swap_in(self, con: Any, staged: Callable[[str], str], outgoing: str | None,
                in_history: bool, wait: float) -> None:
        self._keep_previous(con, outgoing, in_history)
        self._replace(con, list(PUBLISHED_TABLES))

    def swap_back(self, con: Any, previous: list[str], outgoing: str | None,
                  in_history: bool, wait: float) -> None:
        for name in previous:
            source = self.quote(PREVIOUS_SCHEMA, name)
            self._stage(con, source, name, self._typed_columns(con, PREVIOUS_SCHEMA, name))
        self._keep_previous(con, outgoing, in_history)
        self._replace(con, previous)

    def finish(self, con: Any) -> None:
        """The analyst views (they bind by name) and the documentation of schema carbon."""
        for view in VIEWS:
            con.execute(f"create or replace view {SCHEMA}.{view.name} as "
                        f"{view.sql.format(schema=SCHEMA)}")
        present = {name: self.columns(con, SCHEMA, name)
                   for name in (*PUBLISHED_TABLES, *META_TABLES, *(v.name for v in VIEWS))}
        for statement in comment_statements(SCHEMA, {k: v for k, v in present.items() if v},
                                            views=[v.name for v in VIEWS]):
            con.execute(statement)

    def result_extras(self) -> dict[str, Any]:
        return {}
