"""Mutation harness sample (issue 18 step 8; the full set: `python -m tests.mutations --count 500
--seed 1`, see tests/mutations and RELIABILITY.md "Mutation testing").

Plausible mistakes made to the real NBS provincial files, two of each class (seeded), plus the
two named cases of the issue, each run through the CLI in-process against a baseline run of the
unmutated files. Every one must be rejected naming the mutated cell, or published with the
verdicts it changes marked provisional naming that cell, or change no verdict: never a silent
change, a misleading rejection or a crash.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from mutations.generate import (
    CLASSES,
    Mutation,
    qinghai_2012_index_basis,
    qinghai_2015_gdp_x10,
    stratified,
)
from mutations.runner import FAILURES, Harness, cells_named, read_verdicts

PER_CLASS, SEED = 2, 1
SAMPLE = stratified(PER_CLASS, SEED)
# Classes no consistency check can see: every cell stays plausible and consistent with its own
# series and its year's peers (a province's series moved by one year; two provinces' series
# exchanged: their deflators, ratios and jumps all stay within the real spread, e.g. Shanxi's
# deflator runs 4.5 pp RMS from its year's median for real). Their verdict changes are counted
# in RELIABILITY.md §9, not claimed as caught; they must still never crash nor be refused with
# a message pointing elsewhere.
UNSEEN = ("shifted_years", "swapped_provinces")


def _id(m: Mutation) -> str:
    variant = m.variant if m.variant.isascii() else "unit"
    return f"{m.cls}-{variant}-{Path(m.file).stem.removeprefix('prov_')}-{m.row or m.province}"


@pytest.fixture(scope="module")
def harness(shared_nbs: Path, tmp_path_factory: pytest.TempPathFactory):
    with Harness(tmp_path_factory.mktemp("mutations"), shared_nbs / "provincial") as h:
        yield h


def test_sample_covers_every_class_reproducibly() -> None:
    assert {m.cls for m in SAMPLE} == set(CLASSES)
    assert [m.key for m in stratified(PER_CLASS, SEED)] == [m.key for m in SAMPLE]


@pytest.mark.parametrize("mutation", SAMPLE, ids=[_id(m) for m in SAMPLE])
def test_mutation_is_caught_or_harmless(harness: Harness, mutation: Mutation) -> None:
    result = harness.run(mutation)
    failures = ("crash", "rejected_elsewhere") if mutation.cls in UNSEEN else FAILURES
    assert result.outcome not in failures, (
        f"{result.outcome}: {mutation.describe()}\n  exit {result.exit_code}: {result.message}")


def test_qinghai_2012_index_on_2010_basis_does_not_turn_missed_into_met_silently(
        harness: Harness) -> None:
    """111.2 -> 125.1 (2010=100 in the previous-year=100 column): Qinghai's 12th-FYP verdict
    turned from missed to met (decline 9.54 % -> 19.59 %) with no warning."""
    m = qinghai_2012_index_basis()
    result = harness.run(m)
    assert result.outcome in ("rejected_naming_cell", "flagged_provisional"), (
        f"{result.outcome}: {m.describe()}\n  exit {result.exit_code}: {result.message}")


def test_qinghai_2015_gdp_typed_ten_times_is_not_published_silently(harness: Harness) -> None:
    """2011.0 -> 20110. The 13th FYP's base-year GDP: it cancels out of the declines (so no
    verdict moves, and the harness alone would call it no_effect), but it decides Qinghai's
    13th-FYP verdicts (DESIGN.md §7 "Verdict evidence") and every published intensity. So it is
    refused naming the cell, or those verdicts are provisional naming it."""
    m = qinghai_2015_gdp_x10()
    result = harness.run(m, keep=True)
    if result.outcome == "no_effect":
        assert result.warehouse is not None
        verdicts = read_verdicts(result.warehouse)
        deciding = {k: v for k, v in verdicts.items() if k[0] == "13th" and k[1] == "630000"
                    and v["status"] not in ("insufficient data", "no target")}
        assert deciding
        unflagged = sorted(k for k, v in deciding.items()
                           if not (v.get("verdict_is_provisional")
                                   and cells_named(m, v.get("provisional_cells") or "")))
        assert not unflagged, (f"published with exit 0, {len(unflagged)} verdict(s) it decides "
                               f"not provisional naming the cell: {unflagged}")
    else:
        assert result.outcome in ("rejected_naming_cell", "flagged_provisional"), (
            f"{result.outcome}: {m.describe()}\n  exit {result.exit_code}: {result.message}")
