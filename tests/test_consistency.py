"""One truth per figure (issue 12): the same figure read from the CLI output, the run log
(`meta_pipeline_run`, `meta_validation_result`), the analyst views and the plugin's JSON
(`report.load_report`, what `/api/assessment.json` serves) agrees. On the real NBS files
(../shared/data/nbs): the warnings count, the provinces per plan (31 everywhere, Tibet with
'insufficient data') and Qinghai's 12th-FYP cumulative decline (9.54 % at constant 2010 prices).
"""

from __future__ import annotations

import contextlib
import io
import json
import re
from pathlib import Path
from typing import Any

import duckdb
import pytest

from carbon_assess import report
from carbon_assess.cli import main

QINGHAI = "630000"
TIBET = "540000"


def _cli(*argv: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(list(argv)) == 0
    return out.getvalue()


@pytest.fixture(scope="module")
def nbs(shared_nbs: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("consistency")
    db = root / "w.duckdb"
    url = f"duckdb://{db}"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CARBON_ASSESS_HOME", str(root / "home"))
        run_output = _cli("run", "--landing", str(shared_nbs / "provincial"), "--warehouse", url,
                          "--vintage", "nbs-portal-2021", "--workdir", str(root / "work"))
    con = duckdb.connect(str(db), read_only=True)
    yield {"url": url, "con": con, "run_output": run_output, "workdir": root / "work"}
    con.close()


def _plugin_json(url: str, plan: str | None = None) -> dict[str, Any]:
    """The plugin's JSON of the report page (the body of /api/assessment.json)."""
    return json.loads(json.dumps(report.to_jsonable(report.load_report(url, plan))))


def test_the_warnings_count_is_one_figure(nbs) -> None:
    con = nbs["con"]
    match = re.search(r"^validation: (\S+) \((\d+) error\(s\), (\d+) warning\(s\)\)$",
                      nbs["run_output"], re.M)
    assert match, nbs["run_output"]
    cli_count = int(match.group(3))
    run_log = con.execute("select warnings from carbon.meta_pipeline_run").fetchall()
    results = con.execute(
        "select count(*) from carbon.meta_validation_result "
        "where severity = 'warning' and not success").fetchone()[0]
    plugin = _plugin_json(nbs["url"])["validation"]["counts"]["warnings"]
    assert cli_count > 0 and match.group(1) == "passed_with_warnings"
    assert run_log == [(cli_count,)]
    assert results == plugin == cli_count
    # every warning the CLI counts, it also prints (ingest warnings and failed expectations)
    assert nbs["run_output"].count("\nwarning: ") == cli_count


def test_every_province_is_listed_in_every_plan(nbs) -> None:
    con = nbs["con"]
    provinces = con.execute("select count(*) from carbon.dim_province").fetchone()[0]
    assert provinces == 31
    per_plan = con.execute(
        "select plan_id, count(*), count(distinct province_code) "
        "from carbon.v_latest_assessment group by plan_id order by plan_id").fetchall()
    plans = [p for (p,) in con.execute(  # plans with assessment years (not the 14th yet)
        "select distinct plan_id from carbon.fct_target_assessment").fetchall()]
    assert sorted(p for p, _, _ in per_plan) == sorted(plans)
    assert all(rows == codes == provinces for _, rows, codes in per_plan), per_plan
    tibet = con.execute("select distinct status, grade from carbon.v_latest_assessment "
                        "where province_code = ?", [TIBET]).fetchall()
    assert tibet == [("insufficient data", "insufficient data")]

    for plan in ("12th", "13th"):
        shown = json.loads(_cli("show", "--warehouse", nbs["url"], "--plan", plan,
                                "--format", "json"))
        assert len({r["code"] for r in shown}) == len(shown) == provinces, plan
        assert {r["status"] for r in shown if r["code"] == TIBET} == {"insufficient data"}
        plugin_rows = _plugin_json(nbs["url"], plan)["rows"]
        assert len({r["province_code"] for r in plugin_rows}) == len(plugin_rows) == provinces
        view = {code: (status, grade) for code, status, grade in con.execute(
            "select province_code, status, grade from carbon.v_latest_assessment "
            "where plan_id = ?", [plan]).fetchall()}
        assert {r["code"]: (r["status"], r["grade"]) for r in shown} == view
        assert {r["province_code"]: (r["status"], r["grade"]) for r in plugin_rows} == view


def test_qinghai_12th_plan_decline_is_one_figure(nbs) -> None:
    """Qinghai's 12th-FYP decline, 9.54 %, is one figure in the view, the constant-price
    series, the CLI and the plugin JSON. The figure by hand:

    Qinghai 630000, 12th FYP (base 2010, target T = 10 %), reference method, worked from the
    raw cells of ../shared/data/nbs/provincial (a blank production cell is 0; 万吨 × kgCO2/kg
    = 万t CO2; gas: 亿m³ × 1e8 m³ × 2.1622 kg/m³ = 21.622 万t CO2 per 亿m³):

                 2010                                  2015
      coal       1270.6803 × 1.9003        = 2414.6738  1508.12 × 1.9003          = 2865.8804
      crude       127.9792 × 3.0202        =  386.5228   154.33 × 3.0202          =  466.1075
      gas          23.723 × 21.622         =  512.9387    44.38 × 21.622          =  959.5844
      coke     (160.1263 − 129.7576) × 2.8604 =  86.8666  (249.21 − 0) × 2.8604     =  712.8403
      gasoline (26.192 − 40.7878) × 2.9251 =  −42.6942  (44.96 − 53.91) × 2.9251  =  −26.1796
      kerosene (0.1731 − 0) × 3.0179       =    0.5224  (0.01 − 0) × 3.0179       =    0.0302
      diesel   (89.8876 − 56.6857) × 3.0959 = 102.7898  (114.53 − 67.32) × 3.0959 =  146.1574
      fuel oil (0.12 − 3.3445) × 3.1705    =  −10.2233  (0.03 − 3.5) × 3.1705     =  −11.0016
      CO2      3451.3966 万t = 34.51397 Mt              5113.4189 万t = 51.13419 Mt

    GDP at 2010 prices: 1144.2 亿元 × 1.125 × 1.112 × 1.108 × 1.092 × 1.082 (indices 2011-2015)
      = 1287.225, 1431.3942, 1585.9848, 1731.8954, 1873.9108 亿元
    I(2010) = 34.51397e6 t / 1144.2e4 万元 = 3.016428 t/万元
    I(2015) = 51.13419e6 t / 1873.9108e4 万元 = 2.728742 t/万元
    d(2015) = 1 − 2.728742 / 3.016428 = 9.5373 %                    → 9.54 %
    margin m = d − T = 9.5373 − 10 = −0.4627 pp                     → short by 0.46 pp
    CO2 at the threshold = (1 − T) · I(2010) · GDP_2010(2015)
      = 0.9 × 3.016428 × 1873.9108e4 / 1e6 = 50.87265 Mt
    ΔCO2 = 51.13419 − 50.87265 = 0.2615 Mt                         → 0.26 Mt CO2 less
    ΔGDP% = 51.13419 / 50.87265 − 1 = 0.514 %                     → 0.51 % more GDP

    At current prices (for the last check): I = 34.51397e6 / 1144.2e4 = 3.016428 (2010),
    51.13419e6 / 2011.0e4 = 2.542724 (2015): 1 − 2.542724 / 3.016428 = 15.70 %.
    """
    con = nbs["con"]
    latest = con.execute(
        "select assessment_year, cumulative_decline_pct, price_base_year "
        "from carbon.v_latest_assessment where plan_id = '12th' and province_code = ?",
        [QINGHAI]).fetchone()
    assert latest[0] == 2015 and latest[2] == 2010
    decline = latest[1]
    assert decline == pytest.approx(9.54, abs=0.005)

    constant = dict(con.execute(
        "select year, intensity_const_base_year_t_per_10k_yuan "
        "from carbon.v_intensity_constant_prices where plan_id = '12th' and province_code = ? "
        "and price_base_year = 2010", [QINGHAI]).fetchall())
    assert (1 - constant[2015] / constant[2010]) * 100 == pytest.approx(decline, abs=1e-9)
    assert con.execute(
        "select cumulative_decline_pct from carbon.v_intensity_constant_prices "
        "where plan_id = '12th' and province_code = ? and year = 2015", [QINGHAI]
    ).fetchone()[0] == pytest.approx(decline, abs=1e-9)

    shown = json.loads(_cli("show", "--warehouse", nbs["url"], "--plan", "12th",
                            "--province", QINGHAI, "--format", "json"))
    assert [(r["year"], r["decline_pct"]) for r in shown] == [(2015, round(decline, 2))]
    plugin = [r for r in _plugin_json(nbs["url"], "12th")["rows"]
              if r["province_code"] == QINGHAI]
    assert [r["cumulative_decline_pct"] for r in plugin] == [pytest.approx(decline, abs=1e-9)]

    # the current-price series says what it is, and differs (price changes mixed in)
    current = dict(con.execute(
        "select year, intensity_current_t_per_10k_yuan from carbon.v_province_timeseries "
        "where province_code = ? and year in (2010, 2015)", [QINGHAI]).fetchall())
    assert (1 - current[2015] / current[2010]) * 100 == pytest.approx(15.7, abs=0.05)


def test_a_run_with_warnings_has_no_failed_data_docs(nbs) -> None:
    docs = nbs["workdir"] / "validation" / "data_docs"
    pages = list(docs.rglob("*.html"))
    assert (docs / "index.html") in pages and len(pages) > 1
    assert not [p for p in pages if "Failed" in p.read_text(encoding="utf-8")]
    assert "Passed with warnings" in (docs / "index.html").read_text(encoding="utf-8")
