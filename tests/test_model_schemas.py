"""The schema file beside each SQL model (transform/sql/<model>.yml, issue 19 step 3): every model
has one, every column the model produces is documented with its type, in the model's order, and
no yml documents a column (or a model) that does not exist. The catalog, the COMMENTs, the data
dictionary and the output gate are generated from these files, so a stale file is a stale doc."""

from __future__ import annotations

import pytest

from carbon_assess.errors import CarbonAssessError
from carbon_assess.model_schema import load_schemas, model_schemas
from carbon_assess.transform.models import SQL_DIR, models

from model_harness import model_types


def test_every_model_has_a_schema_file_and_every_schema_file_a_model() -> None:
    ymls = {p.stem for p in SQL_DIR.glob("*.yml") if not p.name.startswith("_")}
    assert ymls == set(models()), {"without yml": sorted(set(models()) - ymls),
                                   "without model": sorted(ymls - set(models()))}


@pytest.mark.parametrize("name", sorted(models()))
def test_the_schema_file_documents_exactly_the_columns_the_model_produces(name: str) -> None:
    doc = model_schemas()[name]
    actual = list(model_types()[name])
    documented = [(c.name, c.type) for c in doc.columns]
    produced, written = dict(actual), dict(documented)
    assert not produced.keys() - written.keys(), f"{name}: undocumented columns"
    assert not written.keys() - produced.keys(), f"{name}: documented but not produced"
    assert documented == actual, f"{name}: types or column order differ from the model"
    assert doc.description.strip() and all(c.description.strip() for c in doc.columns), name
    assert set(doc.primary_key) <= set(produced), name


def test_kinds_follow_the_prefix() -> None:
    kinds = {t.name.split("_")[0]: t.kind for t in model_schemas().values()}
    assert kinds == {"stg": "staging", "int": "intermediate", "dim": "dimension", "fct": "fact"}


def test_a_bad_schema_file_is_refused(tmp_path) -> None:
    (tmp_path / "fct_x.yml").write_text(
        "description: x\nkey: [a]\ncolumns:\n- {name: b, type: VARCHAR, description: b}\n",
        encoding="utf-8")
    with pytest.raises(CarbonAssessError, match="undocumented column"):
        load_schemas(tmp_path)
    (tmp_path / "fct_x.yml").write_text("description: x\ncolumns:\n- not_a_shared_column\n",
                                        encoding="utf-8")
    with pytest.raises(CarbonAssessError, match="not_a_shared_column"):
        load_schemas(tmp_path)
    (tmp_path / "fct_x.yml").write_text(
        "description: x\ncolums: []\n", encoding="utf-8")
    with pytest.raises(CarbonAssessError, match="unknown keys"):
        load_schemas(tmp_path)
