"""The SQL model graph is derived from the SQL itself (as dbt derives it from ref()): order,
stage split and cycles come from the names each model mentions, never from a hand-kept list."""

from __future__ import annotations

from pathlib import Path

import pytest

from carbon_assess.errors import CarbonAssessError
from carbon_assess.transform import assessment_models, compute_models
from carbon_assess.transform.models import SQL_DIR, models, referenced_names


def test_every_model_comes_after_the_models_it_reads() -> None:
    order = list(models())
    assert set(order) == {p.stem for p in SQL_DIR.glob("*.sql")}
    for name, model in models().items():
        for dependency in model.depends_on:
            assert order.index(dependency) < order.index(name), (dependency, name)


def test_the_assessment_stage_builds_only_what_the_assessment_alone_needs() -> None:
    assessment, compute = assessment_models(), compute_models()
    assert "fct_target_assessment" in assessment
    assert {"fct_intensity", "int_emissions", "dim_plan"} <= compute  # read by other facts too
    assert not assessment & compute
    for name in compute:  # the compute stage never needs an assessment model
        assert not set(models()[name].depends_on) & assessment, name


def test_comments_and_string_literals_are_not_references() -> None:
    sql = "-- reads fct_a\nselect 'fct_b' as label, x from fct_c join dim_d using (k)"
    assert {"fct_c", "dim_d"} <= referenced_names(sql)
    assert not {"fct_a", "fct_b"} & referenced_names(sql)


def _write(folder: Path, **sql: str) -> Path:
    folder.mkdir()
    for name, text in sql.items():
        (folder / f"{name}.sql").write_text(text, encoding="utf-8")
    return folder


def test_a_model_added_as_a_file_takes_its_place_in_the_order(tmp_path: Path) -> None:
    folder = _write(tmp_path / "sql", fct_b="select * from int_a", int_a="select * from stg_z",
                    stg_z="select 1 as x")
    assert list(models(folder)) == ["stg_z", "int_a", "fct_b"]


def test_a_cycle_is_an_error_that_names_it(tmp_path: Path) -> None:
    folder = _write(tmp_path / "sql", int_a="select * from int_b", int_b="select * from int_a")
    with pytest.raises(CarbonAssessError, match="cycle: int_a -> int_b -> int_a"):
        models(folder)
