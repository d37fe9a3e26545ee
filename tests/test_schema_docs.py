"""The data dictionary: one source of truth (the yml beside each model, and publish/schema/*.yml,
loaded by publish/catalog.py) for the docs, the COMMENTs and the published tables; the committed
docs/data_dictionary.md must be up to date and must agree with what a real publish creates (every
column documented with its type, no stale entries)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from carbon_assess import schema_docs
from carbon_assess.publish import PUBLISHED_TABLES, catalog, publish
from carbon_assess.publish.catalog import META_TABLES, PG_TYPES, TABLES, VIEWS, table
from carbon_assess.transform.models import models

from workdirs import compute_demo_run


def test_committed_dictionary_is_up_to_date(repo_root: Path) -> None:
    path = repo_root / "docs" / "data_dictionary.md"
    assert path == schema_docs.DATA_DICTIONARY_PATH
    assert path.exists(), f"run `{schema_docs.GENERATOR}`"
    assert path.read_text(encoding="utf-8") == schema_docs.render_data_dictionary(), (
        f"{path} is stale: run `{schema_docs.GENERATOR}` and commit the result"
    )
    assert schema_docs.main(["--check"]) == 0


def test_catalog_is_complete_and_consistent() -> None:
    names = [t.name for t in TABLES + VIEWS]
    assert len(names) == len(set(names))
    # what a publish swaps in comes from the catalog; each such table must be an SQL model
    missing = set(PUBLISHED_TABLES) - set(models())
    assert not missing, f"catalog tables without a transform/sql/<table>.sql model: {missing}"
    assert {t.kind for t in TABLES} == {"dimension", "fact", "run log"}
    assert set(META_TABLES) == {"meta_pipeline_run", "meta_validation_result"}
    for t in TABLES + VIEWS:
        assert t.description.strip(), t.name
        columns = t.column_names
        assert len(columns) == len(set(columns)), t.name
        assert set(t.primary_key) <= set(columns), t.name
        for index in t.indexes:
            assert set(index) <= set(columns), (t.name, index)
        for c in t.columns:
            assert c.description.strip(), f"{t.name}.{c.name}"
            assert c.type in PG_TYPES, f"{t.name}.{c.name}: {c.type}"
        assert bool(t.sql) == (t.kind == "view"), t.name
    # analysts filter by province, plan and year: the big facts have keys/indexes for it
    assert table("fct_intensity").primary_key[:2] == ("plan_id", "region_code")
    assert ("province_code", "assessment_year") in table("fct_target_assessment").indexes


def test_views_say_their_price_basis() -> None:
    """One truth per figure (issue 12): every view, and every GDP, intensity, decline or target
    column of a view, says whether it is at current prices or at constant prices of the plan's
    base year (a column, price_base_year, where the basis is constant prices); every figure
    column has a unit."""
    figures = ("gdp", "intensity", "decline", "target_pct", "completion", "shortfall")
    for view in VIEWS:
        text = view.description.lower()
        assert "current prices" in text or "constant prices" in text, view.name
        if "current prices" not in text:
            assert "price_base_year" in view.column_names, view.name
        for c in view.columns:
            if any(f in c.name for f in figures):
                described = (c.description + " " + view.description).lower()
                assert "prices" in described and c.unit, f"{view.name}.{c.name}"
    assert "current" in table("v_province_timeseries").column(
        "intensity_current_t_per_10k_yuan").description.lower()


def test_names_with_units_say_the_unit() -> None:
    suffixes = {"_pct": "%", "_mt": "Mt", "_100m_yuan": "100 million yuan",
                "_10k_tce": "10,000 tce", "_t_per_10k_yuan": "per 10,000 yuan"}
    for t in TABLES + VIEWS:
        for c in t.columns:
            for suffix, unit in suffixes.items():
                if c.name.endswith(suffix):
                    assert unit in c.unit or "point" in c.unit, f"{t.name}.{c.name}: {c.unit}"


def test_comment_statements_quote_safely() -> None:
    statements = catalog.comment_statements(
        "carbon", {"meta_validation_result": ["column", "run_id", "not_documented"]}
    )
    assert statements[0].startswith('comment on table "carbon"."meta_validation_result" is ')
    assert any('"carbon"."meta_validation_result"."column"' in s for s in statements)
    assert not any("not_documented" in s for s in statements)
    assert catalog.sql_literal("it's") == "'it''s'"


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("schema_docs")
    workdir = compute_demo_run(root, "20260101T000000Z-docs00")
    warehouse = root / "w.duckdb"
    publish(workdir, f"duckdb://{warehouse}")
    return warehouse


def test_dictionary_agrees_with_the_published_duckdb_tables(published: Path) -> None:
    with duckdb.connect(str(published), read_only=True) as con:
        actual: dict[str, list[tuple[str, str]]] = {}
        for name, column, data_type in con.execute(
            "select table_name, column_name, data_type from information_schema.columns "
            "where table_schema = 'carbon' order by table_name, ordinal_position"
        ).fetchall():
            actual.setdefault(name, []).append((column, data_type))
        comments = {
            (r[0], r[1]): r[2]
            for r in con.execute(
                "select table_name, column_name, comment from duckdb_columns() "
                "where schema_name = 'carbon'"
            ).fetchall()
        }
    documented = {t.name: [(c.name, c.type) for c in t.columns] for t in TABLES + VIEWS}
    undocumented = sorted(set(actual) - set(documented))
    stale = sorted(set(documented) - set(actual))
    assert not undocumented, f"published but in no schema yml: {undocumented}"
    assert not stale, f"in a schema yml but not published: {stale}"
    problems = []
    for name, columns in actual.items():
        published_cols, doc_cols = dict(columns), dict(documented[name])
        for column in published_cols.keys() - doc_cols.keys():
            problems.append(f"{name}.{column} ({published_cols[column]}) is not documented")
        for column in doc_cols.keys() - published_cols.keys():
            problems.append(f"{name}.{column} is documented but not published (stale)")
        for column in published_cols.keys() & doc_cols.keys():
            if published_cols[column] != doc_cols[column]:
                problems.append(f"{name}.{column}: published {published_cols[column]}, "
                                f"documented {doc_cols[column]}")
            expected = table(name).column(column).comment()
            if comments.get((name, column)) != expected:
                problems.append(f"{name}.{column}: COMMENT is {comments.get((name, column))!r}")
        if [c for c, _ in columns] != [c for c, _ in documented[name]] and not problems:
            problems.append(f"{name}: column order differs from its yml")
    assert not problems, "the schema yml and the published tables disagree:\n" + "\n".join(problems)
