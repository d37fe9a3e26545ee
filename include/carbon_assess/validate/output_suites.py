"""The output gate's expectation suites, generated from the `tests` of the models' schema files
(`transform/sql/<model>.yml`): one suite `output_<model>` per model that lists tests, run on
`<workdir>/compute.duckdb` after the assess stage and before publish (see `output_gate`).

The tests, in the order the yml lists them (the first failing one names the finding):

- `unique_key`: one row per the model's `key` (both rows of a duplicated key are reported);
- `not_null: <column>`, `accepted_values: <column>` (`values`, after the values of column
  `<column>` of the reference table `values_from`);
- `finite: [<columns>]`: no NaN or infinity (GX reads NaN as a blank and skips blanks);
- `accepted_range: <column or columns>` with `min` / `max` (`strict: true` excludes them):
  `warn_without_verdict: true` makes it an error in a row that decides a verdict (the unit has a
  target in the row's plan, dim_target) and a warning elsewhere (`<column>_range_no_verdict`);
  a `max` that is text is an SQL expression over the gate relation (a per-row maximum);
- `sql: <flag>`: a rule over several rows, columns or tables, computed as a boolean `<flag>` by
  `validate/sql/gate_<model>.sql` (True when the row passes, with an optional `note` column
  explaining a failure).

Each becomes a `Rule` (`name`, `description`, `severity` default error, `note` optional), turned
into a GX 1.x suite by `suites.gx_suite` and kept as GX JSON in `validate/suites/output_*.json`
(regenerate with `python -m carbon_assess.validate.output_suites`; a test fails when code and
JSON differ). What GX cannot judge on the batch (NaN, a per-row maximum, `decides_verdict`) is a
derived column added to the model's gate SQL by `gate_sql`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from carbon_assess import reference
from carbon_assess.errors import CarbonAssessError
from carbon_assess.model_schema import Table, model_schema, tested_models
from carbon_assess.validate.suites import (
    ERROR,
    SUITES_DIR,
    WARNING,
    Rule,
    gx_suite,
    stable_json,
    write_suite_json,
)

OUTPUT_SUITE_VERSION = "2026-12-07.1"  # bump when a rule, bound or severity changes
SQL_DIR = Path(__file__).resolve().parent / "sql"

# The models the gate checks (those whose schema file lists tests) and their keys.
OUTPUT_TABLES: dict[str, tuple[str, ...]] = {
    name: model_schema(name).primary_key for name in tested_models()}
# The row's unit has a target in the row's plan: a range break is an error there, else a warning.
DECIDES_VERDICT = """exists (
        select 1 from dim_target as t
        where t.plan_id = gate.plan_id and t.region_code = gate.region_code
            and t.target_pct is not null
    ) as decides_verdict"""


def output_suite_name(table: str) -> str:
    if table not in OUTPUT_TABLES:
        raise ValueError(f"the output gate has no suite for {table!r}")
    return f"output_{table}"


def _listed(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def _values(test: Mapping[str, Any], column: str) -> list[str]:
    """Accepted values: those of `column` in reference table `values_from`, then `values`."""
    found = [row[column] for row in reference.load(test["values_from"])] \
        if "values_from" in test else []
    return list(dict.fromkeys([*found, *test.get("values", ())]))


def _true(key: str, flag: str, description: str, cell: str, note: str | None = None,
          severity: str = ERROR) -> Rule:
    """A rule on a derived boolean column: every row must be True."""
    return Rule(key, "ExpectColumnValuesToBeInSet", {"column": flag, "value_set": [True]},
                severity, description, cell=cell, note=note)


def _decides(value: bool) -> dict[str, Any]:
    """GX 1.x row condition `decides_verdict == value`."""
    return {"type": "comparison", "column": {"name": "decides_verdict"}, "operator": "==",
            "parameter": value}


def _range(model: Table, test: Mapping[str, Any], column: str) -> Iterator[Rule]:
    low, high, strict = test.get("min"), test.get("max"), bool(test.get("strict"))
    if isinstance(high, str):  # a per-row maximum: a derived flag (gate_sql)
        yield _true(f"{column}_range", f"{column}_in_range",
                    test.get("description", f"{column} must be between {low} and its maximum"),
                    column, f"{column}_range")
        return
    kwargs: dict[str, Any] = {"column": column}
    for bound, value, flag in (("min_value", low, "strict_min"), ("max_value", high,
                                                                    "strict_max")):
        if value is not None:
            kwargs[bound] = value
            if strict:
                kwargs[flag] = True
    name = test.get("name", f"{column}_range")
    unit = model.column(column).unit
    text = test.get("description") or (
        f"{column} must be {'strictly ' if strict else ''}between {low} and {high}"
        + (f" {unit}" if unit else ""))
    if not test.get("warn_without_verdict"):
        yield Rule(name, "ExpectColumnValuesToBeBetween", kwargs, ERROR, text, cell=column)
        return
    yield Rule(name, "ExpectColumnValuesToBeBetween",
               {**kwargs, "row_condition": _decides(True)}, ERROR,
               f"{text} (a row that decides a verdict)", cell=column)
    yield Rule(f"{name}_no_verdict", "ExpectColumnValuesToBeBetween",
               {**kwargs, "row_condition": _decides(False)}, WARNING,
               f"{text} (a row that decides no verdict: a plan without a target for the unit)",
               cell=column)


def _rules(model: Table, test: Mapping[str, Any]) -> Iterator[Rule]:
    severity, note = test.get("severity", ERROR), test.get("note")
    if test.get("test") == "unique_key":
        key = list(model.primary_key)
        yield Rule("key_unique", "ExpectCompoundColumnsToBeUnique",
                   {"column_list": key, "ignore_row_if": "never"}, severity,
                   f"one row per {', '.join(key)}", cell=",".join(key))
    elif "not_null" in test:
        column = test["not_null"]
        yield Rule(test.get("name", f"{column}_not_null"), "ExpectColumnValuesToNotBeNull",
                   {"column": column}, severity,
                   test.get("description", f"{column} must not be blank"), cell=column, note=note)
    elif "accepted_values" in test:
        column = test["accepted_values"]
        values = _values(test, column)
        where = f" (reference/{test['values_from']}.csv)" if "values_from" in test else ""
        yield Rule(test.get("name", f"{column}_known"), "ExpectColumnValuesToBeInSet",
                   {"column": column, "value_set": values}, severity,
                   f"{column} must be one of: {', '.join(values)}{where}", cell=column)
    elif "finite" in test:
        for column in _listed(test["finite"]):
            yield _true(f"{column}_finite", f"{column}_finite",
                        f"{column} must be a finite number (no NaN or infinity)", column)
    elif "accepted_range" in test:
        for column in _listed(test["accepted_range"]):
            yield from _range(model, test, column)
    elif "sql" in test:
        yield _true(test.get("name", test["sql"]), test["sql"], " ".join(
            test["description"].split()), ",".join(_listed(test["column"])), note, severity)
    else:
        raise CarbonAssessError(f"{model.name}.yml: unknown test {dict(test)}")


def output_rules(table: str) -> list[Rule]:
    """The rules of the suite `output_<table>`: the model's yml tests, in order."""
    output_suite_name(table)
    model = model_schema(table)
    return [rule for test in model.tests for rule in _rules(model, test)]


def _derived(model: Table) -> list[str]:
    """The derived columns the generic tests read (finite flags, per-row maxima, whether a row
    decides a verdict), as SELECT items over the gate relation `gate`."""
    items: list[str] = []
    for test in model.tests:
        if "finite" in test:
            items += [f"{c} is null or isfinite({c}) as {c}_finite"
                      for c in _listed(test["finite"])]
        elif "accepted_range" in test and isinstance(test.get("max"), str):
            low, high = test.get("min", 0), test["max"]
            blank = test.get("blank_max", "blank maximum")
            for c in _listed(test["accepted_range"]):
                items += [f"{c} is null or coalesce({c} between {low} and {high}, false)"
                          f" as {c}_in_range",
                          f"'between {low} and ' || coalesce(format('{{:.6g}}', {high}), "
                          f"'? ({blank})') as {c}_range"]
        if test.get("warn_without_verdict") and DECIDES_VERDICT not in items:
            items.append(DECIDES_VERDICT)
    return items


def gate_sql(table: str) -> str:
    """The SELECT giving the gate's batch for `table`: the rows of `validate/sql/gate_<table>.sql`
    (the published rows with the flags of the `sql` tests; the table itself without one), the
    derived columns of the generic tests. Unordered: the gate numbers its rows in key order
    (output_gate._numbered_sql), and a second sort here cost a fifth of the gate."""
    output_suite_name(table)
    path = SQL_DIR / f"gate_{table}.sql"
    rows = path.read_text(encoding="utf-8").strip().rstrip(";") if path.exists() \
        else f"select * from {table}"
    items = ",\n    ".join(["*", *_derived(model_schema(table))])
    return f"select\n    {items}\nfrom (\n{rows}\n) as gate"


def grades() -> tuple[str, ...]:
    """The grades fct_target_assessment may hold (its accepted values)."""
    test = next(t for t in model_schema("fct_target_assessment").tests
                if t.get("accepted_values") == "grade")
    return tuple(_values(test, "grade"))


def _statuses() -> tuple[str, ...]:
    test = next(t for t in model_schema("fct_target_assessment").tests
                if t.get("accepted_values") == "status")
    return tuple(_values(test, "status"))


# The labels int_target_assessment.sql gives its status.
STATUSES = _statuses()


def build_output_suite(table: str, rules: list[Rule] | None = None):
    """The GX 1.x ExpectationSuite `output_<table>`."""
    rules = rules if rules is not None else output_rules(table)
    return gx_suite(output_suite_name(table), rules,
                    {"version": OUTPUT_SUITE_VERSION, "table": table})


def output_suite_json(table: str) -> dict[str, Any]:
    return stable_json(build_output_suite(table))


def export_output_suites(directory: Path = SUITES_DIR) -> list[Path]:
    """Write `output_<table>.json` for every checked table; returns the paths."""
    return [write_suite_json(output_suite_json(table), directory) for table in OUTPUT_TABLES]


__all__ = [
    "OUTPUT_SUITE_VERSION",
    "OUTPUT_TABLES",
    "STATUSES",
    "build_output_suite",
    "export_output_suites",
    "gate_sql",
    "grades",
    "output_rules",
    "output_suite_json",
    "output_suite_name",
]


if __name__ == "__main__":
    for written in export_output_suites():
        print(written)
