"""The Airflow UI plugin (plugins/carbon_assess_plugin.py) and its library (carbon_assess.report).

The plugin's FastAPI app is taken from Airflow's own plugin discovery and called through
`TestClient` with JWTs issued by the configured auth manager (SimpleAuthManager), against a real
DuckDB warehouse published from the demo data.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest

from carbon_assess import report

from import_probe import heavy_imports

REPO_ROOT = Path(__file__).resolve().parent.parent
PLUGIN_FILE = REPO_ROOT / "plugins" / "carbon_assess_plugin.py"
PLUGIN_NAME = "carbon_assess"
URL_PREFIX = "/carbon-assess"
HEAVY_MODULES = ["duckdb", "pandas", "great_expectations", "pyarrow", "psycopg",
                 "carbon_assess.pipeline"]
# Sample values for the path parameters of every route, when probing them all.
PATH_SAMPLES = {"code": "630000", "run_id": "some-run", "path": "index.html"}


# ---------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def published(tmp_path_factory) -> dict[str, Any]:
    """A DuckDB warehouse published from the demo data; the run's work directory (with its GX
    Data Docs) under <home>/runs/<run_id>, as the DAG lays it out."""
    from carbon_assess.demo import write_demo_landing
    from carbon_assess.pipeline import run_pipeline

    root = tmp_path_factory.mktemp("plugin")
    home = root / "carbon_home"
    landing = root / "landing"
    write_demo_landing(landing)
    url = f"duckdb:///{root / 'warehouse.duckdb'}"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CARBON_ASSESS_HOME", str(home))
        result = run_pipeline(landing, url, vintage="demo")
    assert Path(result["workdir"]).parent == (home / "runs").resolve()
    return {"url": url, "home": home, "run_id": result["run_id"], "workdir": result["workdir"]}


@pytest.fixture(scope="module")
def plugin(airflow_db):
    """Our plugin as Airflow's plugin manager discovers it (plugins_folder = <repo>/plugins)."""
    from airflow import plugins_manager

    plugins, errors = plugins_manager._get_plugins()
    assert not {k: v for k, v in errors.items() if "carbon" in k}, errors
    ours = [p for p in plugins if p.name == PLUGIN_NAME]
    assert len(ours) == 1, [p.name for p in plugins]
    return ours[0]


@pytest.fixture(scope="module")
def auth_manager(airflow_db):
    """The configured auth manager, initialised as the API server does."""
    os.environ.setdefault("AIRFLOW__API_AUTH__JWT_SECRET", "plugin-tests-" + "0123456789" * 7)
    from airflow.api_fastapi.app import init_auth_manager
    from airflow.api_fastapi.auth.managers.simple.simple_auth_manager import SimpleAuthManager

    manager = init_auth_manager()
    assert isinstance(manager, SimpleAuthManager), type(manager)
    return manager


def _token(manager, role: str | None) -> str:
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    return manager.generate_jwt(SimpleAuthManagerUser(username=f"tester-{role}", role=role))


@pytest.fixture
def client(plugin, published, auth_manager, monkeypatch):
    from fastapi.testclient import TestClient

    monkeypatch.setenv("CARBON_WAREHOUSE_URL", published["url"])
    monkeypatch.setenv("CARBON_ASSESS_HOME", str(published["home"]))
    monkeypatch.delenv("CARBON_WAREHOUSE_CONN_ID", raising=False)
    with TestClient(plugin.fastapi_apps[0]["app"]) as test_client:
        yield test_client


@pytest.fixture
def viewer(auth_manager) -> dict[str, str]:
    """Headers of a user with the `viewer` role (may read DAGs, nothing more)."""
    return {"Authorization": f"Bearer {_token(auth_manager, 'viewer')}"}


def _row(page: str, text: str) -> str:
    """The table row of the page that contains `text`."""
    rows = [r for r in re.findall(r"<tr>.*?</tr>", page, re.S) if text in r]
    assert rows, f"no table row with {text!r}"
    return rows[0]


# ---------------------------------------------------------------------------------- discovery


@pytest.mark.airflow
def test_plugin_is_discovered_with_its_app_and_nav_entry(plugin):
    from airflow import plugins_manager
    from fastapi import FastAPI

    [entry] = plugin.fastapi_apps
    assert isinstance(entry["app"], FastAPI)
    assert entry["url_prefix"] == URL_PREFIX
    apps, _ = plugins_manager.get_fastapi_plugins()
    assert any(a["app"] is entry["app"] for a in apps)

    [view] = plugin.external_views
    assert view["name"] == "Carbon assessment"
    assert view["destination"] == "nav"
    assert view["href"] == URL_PREFIX.lstrip("/") + "/"  # relative: works under a base_url
    assert not view["url_route"].startswith("/")
    external_views, _ = plugins_manager._get_ui_plugins()
    assert view in external_views  # not dropped (e.g. for a conflicting url_route)


@pytest.mark.airflow
def test_plugin_module_imports_nothing_heavy_at_top_level():
    proc = heavy_imports(PLUGIN_FILE, HEAVY_MODULES)
    assert proc.returncode == 0, proc.stdout + proc.stderr[-3000:]


# ---------------------------------------------------------------------------------- auth


def _all_requests(app) -> list[tuple[str, str]]:
    """(method, path) of every route of the app, path parameters filled in. Anything but an
    APIRoute (a Mount, StaticFiles, the OpenAPI/docs routes) escapes the app-level auth
    dependency, so it fails here."""
    from fastapi.routing import APIRoute

    calls = []
    for route in app.routes:
        assert isinstance(route, APIRoute), (
            f"{route!r} is not an APIRoute: app-level dependencies do not protect it"
        )
        path = route.path_format.format(
            **{name: PATH_SAMPLES.get(name, "x") for name in route.param_convertors}
        )
        calls += [(method, path) for method in sorted(route.methods)]
    assert len(calls) >= 4
    return calls


@pytest.mark.airflow
def test_every_route_refuses_anonymous_and_unauthorised_callers(client, auth_manager):
    app = client.app
    for method, path in _all_requests(app):
        anonymous = client.request(method, path)
        assert anonymous.status_code == 401, (method, path, anonymous.status_code)
        assert "Qinghai" not in anonymous.text

        forged = client.request(method, path, headers={"Authorization": "Bearer not-a-jwt"})
        assert forged.status_code == 403, (method, path, forged.status_code)

        # authenticated, but the auth manager gives a user without a role no DAG access
        no_role = {"Authorization": f"Bearer {_token(auth_manager, None)}"}
        denied = client.request(method, path, headers=no_role)
        assert denied.status_code == 403, (method, path, denied.status_code)
        assert "Qinghai" not in denied.text


@pytest.mark.airflow
def test_access_follows_the_auth_managers_dag_permission(client, viewer, auth_manager,
                                                         monkeypatch):
    calls = []

    def deny(**kwargs):
        calls.append(kwargs)
        return False

    assert client.get("/", headers=viewer).status_code == 200
    monkeypatch.setattr(auth_manager, "is_authorized_dag", deny)
    assert client.get("/", headers=viewer).status_code == 403
    assert calls[0]["method"] == "GET"
    assert calls[0]["details"].id == "carbon_intensity_assessment"


# ---------------------------------------------------------------------------------- pages


@pytest.mark.airflow
def test_report_page_shows_the_published_assessment(client, viewer, published):
    response = client.get("/", headers=viewer)
    assert response.status_code == 200, response.text[:2000]
    assert response.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in response.headers["content-security-policy"]
    page = response.text

    import duckdb

    con = duckdb.connect(published["url"].removeprefix("duckdb://"), read_only=True)
    try:
        plan, status, grade = con.execute(
            "select plan_id, status, grade from carbon.v_latest_assessment "
            "where province_code = '630000' order by plan_id desc limit 1"
        ).fetchone()
    finally:
        con.close()
    assert f"<strong>{plan} Five-Year Plan</strong>" in page  # the latest plan by default
    qinghai = _row(page, "Qinghai")
    assert f">{status}<" in qinghai and f">{grade}<" in qinghai
    assert 'href="province/630000"' in qinghai  # relative link
    assert "<svg" in page and "Cumulative decline of carbon intensity" in page
    assert published["run_id"] in _row(page, published["run_id"])  # runs table
    assert "Data quality of the current release" in page and "warnings" in page
    docs_link = f'href="data-docs/{published["run_id"]}/index.html"'
    assert docs_link in page
    assert not re.search(r'(href|src|action)="/', page), "links must be relative"
    assert "_blank" not in page  # the UI's iframe sandbox blocks new windows

    other = client.get("/", params={"plan": "12th"}, headers=viewer)
    assert other.status_code == 200
    assert "<strong>12th Five-Year Plan</strong>" in other.text
    assert 'href="api/assessment.json?plan=12th"' in other.text
    assert client.get("/", params={"plan": "99th"}, headers=viewer).status_code == 404


@pytest.mark.airflow
def test_the_ui_cookie_authenticates_too(client, auth_manager):
    client.cookies.set("_token", _token(auth_manager, "viewer"))
    try:
        assert client.get("/").status_code == 200
    finally:
        client.cookies.clear()


@pytest.mark.airflow
def test_json_api_carries_the_same_data(client, viewer, published):
    response = client.get("/api/assessment.json", params={"plan": "12th"}, headers=viewer)
    assert response.status_code == 200
    data = response.json()
    assert data["state"] == "ok" and data["plan"] == "12th"
    qinghai = next(r for r in data["rows"] if r["province_code"] == "630000")
    assert qinghai["name_en"] == "Qinghai" and qinghai["assessment_year"] == 2015
    assert {"status", "grade", "veto", "note", "target_score", "measures_score"} <= set(qinghai)
    # issue 12: the verdict explains itself (reason) and says how far it is from flipping
    assert {"reason", "margin_pp", "margin_co2_mt", "margin_gdp_pct", "margin_text"} <= set(qinghai)
    assert qinghai["reason"] and (qinghai["margin_pp"] is None) == (qinghai["margin_text"] is None)
    assert data["runs"][0]["run_id"] == published["run_id"]
    assert data["runs"][0]["data_docs"] is True
    assert data["validation"]["run_id"] == published["run_id"]


@pytest.mark.airflow
def test_province_page_and_unknown_province(client, viewer):
    response = client.get("/province/630000", headers=viewer)
    assert response.status_code == 200
    page = response.text
    assert "Qinghai" in page and "青海" in page
    assert page.count("<svg") == 2 and "<polyline" in page
    assert "12th Five-Year Plan" in page and 'href="../?plan=12th"' in page
    assert not re.search(r'(href|src|action)="/', page)

    assert client.get("/province/Qinghai", headers=viewer).status_code == 200
    missing = client.get("/province/999999", headers=viewer)
    assert missing.status_code == 404
    assert "999999" in missing.text


@pytest.mark.airflow
def test_data_docs_are_served_and_traversal_is_refused(client, viewer, published):
    run_id = published["run_id"]
    index = client.get(f"/data-docs/{run_id}/index.html", headers=viewer)
    assert index.status_code == 200 and "<html" in index.text.lower()
    assert index.headers["content-security-policy"].startswith("sandbox")
    assert client.get(f"/data-docs/{run_id}/", headers=viewer).status_code == 200

    # a file of the run outside data_docs, a file of the runs folder, and the system
    secret = Path(published["workdir"]) / "run.json"
    assert secret.exists()
    # (the HTTP client normalises a literal ../ away; percent-encoded, it reaches the route)
    literal = client.get(f"/data-docs/{run_id}/../../run.json", headers=viewer)
    assert literal.status_code == 404 and '"run_id"' not in literal.text
    for path in (
        f"/data-docs/{run_id}/%2e%2e/%2e%2e/run.json",
        f"/data-docs/{run_id}/..%2f..%2frun.json",
        f"/data-docs/{run_id}/%2fetc%2fpasswd",
        "/data-docs/..%2f..%2f..%2f/etc/passwd",
        "/data-docs/%2e%2e/index.html",
        "/data-docs/no-such-run/index.html",
    ):
        response = client.get(path, headers=viewer)
        assert response.status_code == 404, (path, response.status_code)
        assert "No such Data Docs file" in response.text  # refused by the plugin's guard
        assert '"run_id"' not in response.text and "root:" not in response.text


def _external_urls(page: str) -> list[str]:
    """The src/href/action attributes of a page that point off the server."""
    return [m.group(0) for m in re.finditer(r'(src|href|action)\s*=\s*["\']?\s*(https?:)?//',
                                            page, re.I)]


@pytest.mark.airflow
def test_validation_page_tells_the_truth_offline(client, viewer, published):
    """Issue 12: a run that passed with warnings reads so (never "Failed"), every warning shows
    with its severity, and the page needs nothing from the internet (no script, no URL)."""
    run_id = published["run_id"]
    data = report.load_report(published["url"])
    counts = data["validation"]["counts"]
    assert counts["warnings"] > 0 and counts["errors"] == 0, counts  # the demo data's warnings

    response = client.get(f"/validation/{run_id}", headers=viewer)
    assert response.status_code == 200, response.text[:2000]
    assert "default-src 'none'" in response.headers["content-security-policy"]
    page = response.text
    assert "passed with warnings" in page
    assert "failed" not in page.lower()
    assert "<script" not in page.lower() and not _external_urls(page)
    assert "http://" not in page and "https://" not in page
    assert f"Expectations that did not hold ({counts['warnings']})" in page
    warning_rows = [r for r in re.findall(r"<tr>.*?</tr>", page, re.S)
                    if 'class="badge warn">warning<' in r]
    assert len(warning_rows) >= counts["warnings"]  # + the row of the counts table
    for issue in data["validation"]["issues"]:
        row = _row(page, f"<code>{issue['expectation']}</code>")
        assert 'class="badge warn">warning<' in row and 'class="badge bad"' not in row
    assert not re.search(r'(href|src|action)="/', page), "links must be relative"
    # the GX Data Docs stay linked, labelled as needing internet
    assert f'href="../data-docs/{run_id}/index.html"' in page and "needs internet" in page

    # linked from the runs list and from the data-quality section of the report page
    index = client.get("/", headers=viewer).text
    assert f'href="validation/{run_id}"' in _row(index, f"<code>{run_id}</code>")
    section = index.split("Data quality of the current release", 1)[1]
    assert f'href="validation/{run_id}"' in section and "passed with warnings" in section
    assert "needs internet" in section

    missing = client.get("/validation/no-such-run", headers=viewer)
    assert missing.status_code == 404 and "no-such-run" in missing.text
    assert client.get(f"/validation/{run_id}").status_code == 401


@pytest.mark.airflow
def test_validation_page_after_a_rollback_shows_the_restored_run(client, viewer, published,
                                                                 tmp_path, monkeypatch):
    """After a rollback the latest run-log row is 'rolled back' with restored_run_id: its page
    shows the data quality of the restored release, as the report page does."""
    import shutil

    import duckdb

    copy = tmp_path / "rolled.duckdb"
    shutil.copy(published["url"].removeprefix("duckdb://"), copy)
    con = duckdb.connect(str(copy))
    try:
        con.execute("alter table carbon.meta_pipeline_run "
                    "add column if not exists restored_run_id varchar")
        con.execute(
            "insert into carbon.meta_pipeline_run (run_id, started_at, finished_at, status, "
            "restored_run_id) values ('rb-1', now(), now() + interval 1 day, 'rolled back', ?)",
            [published["run_id"]])
    finally:
        con.close()
    monkeypatch.setenv("CARBON_WAREHOUSE_URL", f"duckdb:///{copy}")
    page = client.get("/validation/rb-1", headers=viewer).text
    assert "rolled back" in page and f"validation/{published['run_id']}" in page
    assert "passed with warnings" in page and "failed" not in page.lower()
    index = client.get("/", headers=viewer).text
    section = index.split("Data quality of the current release", 1)[1]
    assert f'href="validation/{published["run_id"]}"' in section


# ---------------------------------------------------------------------------------- every run

# Run-log columns of runs that did not publish (the catalog adds them at publish; a warehouse of
# an older version lacks them, hence `if not exists`).
RUN_OUTCOME_COLUMNS = ("restored_run_id", "failed_stage", "reason", "report_path",
                       "landing_digest")
REJECTED, FAILED, SKIPPED = "20990101T000000Z-rej001", "20990101T010000Z-fail01", "skip.1_x"
REJECT_REASON = "energy.csv row 3 column '煤炭消费量(万吨)': negative value <-5> & more"
FAIL_REASON = "compute: Binder Error: column co2 not found"
SKIP_REASON = "landing folder unchanged since the current release"
REPORT_LINE = "expect_column_values_to_be_between <script>alert(1)</script>"


def _add_outcome_columns(con) -> None:
    for column in RUN_OUTCOME_COLUMNS:
        con.execute(f"alter table carbon.meta_pipeline_run add column if not exists {column} "
                    "varchar")


def _log_run(con, run_id: str, hours_later: int, status: str, **columns: Any) -> None:
    """A run-log row `hours_later` after the newest one (so it is the latest run)."""
    names = ["run_id", "status", *columns]
    con.execute(
        f"insert into carbon.meta_pipeline_run (started_at, finished_at, {', '.join(names)}) "
        "select max(finished_at) + ? * interval 1 hour, max(finished_at) + ? * interval 1 hour, "
        f"{', '.join('?' for _ in names)} from carbon.meta_pipeline_run",
        [hours_later, hours_later, run_id, status, *columns.values()])


@pytest.fixture
def outcomes(published, tmp_path, monkeypatch) -> dict[str, Any]:
    """A copy of the published warehouse whose run log goes on after the publish with a rejected
    run (validation results and a quarantine report under <home>/quarantine/<run_id>/), a
    failed and a skipped run, none of which touched the published tables; plus runs whose
    recorded report lies outside the quarantine folder, or is a symlink leading out of it."""
    import shutil

    import duckdb

    home = tmp_path / "home"
    quarantine = home / "quarantine"
    report_md = quarantine / REJECTED / "report.md"
    report_md.parent.mkdir(parents=True)
    report_md.write_text(f"# Validation report: run {REJECTED}\n\n- {REPORT_LINE}\n",
                         encoding="utf-8")
    outside = tmp_path / "elsewhere" / "report.md"  # a report.md outside the quarantine folder
    outside.parent.mkdir()
    outside.write_text("SECRET outside the quarantine folder", encoding="utf-8")
    (quarantine / "rej-link").mkdir()
    (quarantine / "rej-link" / "report.md").symlink_to(outside)

    copy = tmp_path / "outcomes.duckdb"
    shutil.copy(published["url"].removeprefix("duckdb://"), copy)
    con = duckdb.connect(str(copy))
    try:
        _add_outcome_columns(con)
        _log_run(con, REJECTED, 1, "rejected", failed_stage="validate", reason=REJECT_REASON,
                 report_path=str(report_md), vintage="demo")
        # its validation results: one error that did not hold, one expectation that held
        con.execute(
            "insert into carbon.meta_validation_result values "
            "(?, 'energy_consumption', 'expect_column_values_to_be_between', 'coal', 'error', "
            "false, 1, '[-5]'), "
            "(?, 'energy_consumption', 'expect_column_to_exist', 'coal', 'error', true, 0, null)",
            [REJECTED, REJECTED])
        _log_run(con, FAILED, 2, "failed", failed_stage="compute", reason=FAIL_REASON)
        _log_run(con, "rej-out", 3, "rejected", failed_stage="ingest", reason="bad file",
                 report_path=str(outside))
        _log_run(con, "rej-link", 4, "rejected", failed_stage="ingest", reason="bad file",
                 report_path=str(quarantine / "rej-link" / "report.md"))
        _log_run(con, SKIPPED, 5, "skipped", reason=SKIP_REASON)
    finally:
        con.close()
    monkeypatch.setenv("CARBON_WAREHOUSE_URL", f"duckdb:///{copy}")
    monkeypatch.setenv("CARBON_ASSESS_HOME", str(home))
    return {"url": f"duckdb:///{copy}", "home": home, "report": report_md, "outside": outside}


@pytest.mark.airflow
def test_runs_list_shows_rejected_failed_and_skipped_runs(client, viewer, published, outcomes):
    response = client.get("/", headers=viewer)
    assert response.status_code == 200, response.text[:2000]
    page = response.text

    rejected = _row(page, f"<code>{REJECTED}</code>")
    assert 'class="badge bad">rejected<' in rejected
    assert "<code>validate</code>" in rejected
    assert ("energy.csv row 3 column &#39;煤炭消费量(万吨)&#39;: negative value &lt;-5&gt; "
            "&amp; more") in rejected
    assert f'href="quarantine/{REJECTED}"' in rejected and "Quarantine report" in rejected
    assert f'href="validation/{REJECTED}"' in rejected

    failed = _row(page, f"<code>{FAILED}</code>")
    assert 'class="badge bad">failed<' in failed
    assert "<code>compute</code>" in failed and FAIL_REASON in failed
    assert "quarantine/" not in failed  # no report recorded

    skipped = _row(page, f"<code>{SKIPPED}</code>")
    assert 'class="badge neutral">skipped<' in skipped and SKIP_REASON in skipped

    # a recorded report that the server may not serve gets no link
    for run_id in ("rej-out", "rej-link"):
        row = _row(page, f"<code>{run_id}</code>")
        assert 'class="badge bad">rejected<' in row
        assert "href=\"quarantine/" not in row and "not on this server" in row

    # newest first; the published run is still marked as the current release
    order = [page.index(f"<code>{r}</code>") for r in
             (SKIPPED, "rej-link", "rej-out", FAILED, REJECTED, published["run_id"])]
    assert order == sorted(order)
    current = _row(page, f"<code>{published['run_id']}</code>")
    assert 'class="badge good">published<' in current and "current release" in current
    assert "current release" not in rejected
    assert not re.search(r'(href|src|action)="/', page), "links must be relative"

    data = client.get("/api/assessment.json", headers=viewer).json()
    by_id = {r["run_id"]: r for r in data["runs"]}
    assert by_id[REJECTED]["status"] == "rejected"
    assert by_id[REJECTED]["reason"] == REJECT_REASON
    assert by_id[REJECTED]["quarantine_report"] is True
    assert by_id["rej-out"]["quarantine_report"] is False


@pytest.mark.airflow
def test_a_later_rejected_run_leaves_the_current_release(client, viewer, published, outcomes):
    """The release in schema carbon is the published run's, whatever runs came after it: the
    report's figures, `show` and the data-quality section are those of the published run."""
    import duckdb

    before = report.load_report(published["url"], plan="12th")
    after = report.load_report(outcomes["url"], plan="12th")
    assert after["runs"][0]["run_id"] == SKIPPED  # the latest row of the log ...
    assert after["release"]["run_id"] == published["run_id"]  # ... is not the release
    assert after["rows"] == before["rows"]
    assert after["validation"]["run_id"] == published["run_id"]
    assert after["validation"]["counts"] == before["validation"]["counts"]
    assert report.query_assessment(outcomes["url"]) == report.query_assessment(published["url"])

    con = duckdb.connect(outcomes["url"].removeprefix("duckdb://"), read_only=True)
    try:
        status, decline = con.execute(
            "select status, cumulative_decline_pct from carbon.v_latest_assessment "
            "where plan_id = '12th' and province_code = '630000'").fetchone()
    finally:
        con.close()
    qinghai = next(r for r in after["rows"] if r["province_code"] == "630000")
    assert (qinghai["status"], qinghai["cumulative_decline_pct"]) == (status, decline)

    index = client.get("/", headers=viewer).text
    section = index.split("Data quality of the current release", 1)[1]
    assert f'href="validation/{published["run_id"]}"' in section
    assert f"validation/{REJECTED}" not in section and "blocked by errors" not in section


@pytest.mark.airflow
def test_validation_page_of_a_rejected_run(client, viewer, outcomes):
    response = client.get(f"/validation/{REJECTED}", headers=viewer)
    assert response.status_code == 200, response.text[:2000]
    page = response.text
    assert 'class="badge bad">blocked by errors<' in page
    assert 'class="badge bad">rejected<' in page and "<code>validate</code>" in page
    assert "negative value &lt;-5&gt; &amp; more" in page
    assert str(outcomes["report"]) in page
    assert f'href="../quarantine/{REJECTED}"' in page
    assert "Expectations that did not hold (1)" in page
    assert 'class="badge bad">error<' in _row(page, "<code>expect_column_values_to_be_between")

    failed = client.get(f"/validation/{FAILED}", headers=viewer).text
    assert FAIL_REASON in failed and "No validation results recorded for this run" in failed
    skipped = client.get(f"/validation/{SKIPPED}", headers=viewer).text
    assert SKIP_REASON in skipped and "was skipped" in skipped


@pytest.mark.airflow
def test_quarantine_route_serves_the_report_and_nothing_else(client, viewer, outcomes):
    response = client.get(f"/quarantine/{REJECTED}", headers=viewer)
    assert response.status_code == 200, response.text[:2000]
    assert "default-src 'none'" in response.headers["content-security-policy"]
    page = response.text
    assert "<script>" not in page
    assert "expect_column_values_to_be_between &lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert f"# Validation report: run {REJECTED}" in page and "<pre" in page
    assert 'class="badge bad">rejected<' in page and f'href="../validation/{REJECTED}"' in page
    assert not re.search(r'(href|src|action)="/', page)

    for path in (
        "/quarantine/no-such-run",  # not in the run log
        f"/quarantine/{FAILED}",  # no report recorded
        "/quarantine/rej-out",  # recorded report outside the quarantine folder
        "/quarantine/rej-link",  # inside, but a symlink leading out of it
        "/quarantine/%2e%2e",  # not a run id
        f"/quarantine/{REJECTED}%2f..%2f..%2frej-out",
        "/quarantine/rej%20out",
    ):
        refused = client.get(path, headers=viewer)
        assert refused.status_code == 404, (path, refused.status_code)
        assert "SECRET" not in refused.text and "<pre" not in refused.text
    assert client.get(f"/quarantine/{REJECTED}").status_code == 401


@pytest.mark.airflow
def test_a_warehouse_with_only_rejected_runs_lists_them(client, viewer, tmp_path, monkeypatch):
    """The first run was rejected: nothing is published, but the run is on record and shown."""
    import duckdb

    from carbon_assess.publish import init_warehouse

    url = f"duckdb:///{tmp_path / 'first.duckdb'}"
    init_warehouse(url)
    con = duckdb.connect(str(tmp_path / "first.duckdb"))
    try:
        _add_outcome_columns(con)
        con.execute("insert into carbon.meta_pipeline_run (run_id, started_at, finished_at, "
                    "status, failed_stage, reason) values (?, now(), now(), 'rejected', "
                    "'ingest', ?)", [REJECTED, REJECT_REASON])
    finally:
        con.close()
    monkeypatch.setenv("CARBON_WAREHOUSE_URL", url)
    page = client.get("/", headers=viewer).text
    assert "No assessment has been published yet" in page
    assert 'class="badge bad">rejected<' in _row(page, f"<code>{REJECTED}</code>")
    validation = client.get(f"/validation/{REJECTED}", headers=viewer)
    assert validation.status_code == 200 and "&lt;-5&gt;" in validation.text


@pytest.mark.airflow
def test_no_warehouse_yet_is_a_friendly_page_not_an_error(client, viewer, tmp_path,
                                                          monkeypatch):
    monkeypatch.setenv("CARBON_WAREHOUSE_URL", f"duckdb:///{tmp_path / 'none.duckdb'}")
    response = client.get("/", headers=viewer)
    assert response.status_code == 200
    assert "No assessment has been published yet" in response.text
    assert client.get("/province/630000", headers=viewer).status_code == 200
    assert client.get("/api/assessment.json", headers=viewer).json()["state"] == "empty"
    assert not (tmp_path / "none.duckdb").exists()  # read-only: nothing created


@pytest.mark.airflow
def test_an_unknown_airflow_connection_is_reported_not_raised(client, viewer, monkeypatch):
    monkeypatch.setenv("CARBON_WAREHOUSE_CONN_ID", "no_such_connection")
    response = client.get("/", headers=viewer)
    assert response.status_code == 503
    assert "no_such_connection" in response.text


# ---------------------------------------------------------------------------------- library


def _crafted(note: str) -> dict[str, Any]:
    row = {
        "province_code": "630000", "name_en": "Qinghai<b>", "name_zh": "青海省",
        "assessment_year": 2015, "end_of_plan": True, "target_pct": 10.0,
        "cumulative_decline_pct": 9.5, "expected_decline_pct": 10.0, "completion_pct": 95.0,
        "status": "missed", "target_score": 40.0, "target_score_max": 50.0,
        "measures_score": 30.0, "measures_score_max": 50.0, "total_score": 70.0,
        "grade": "fail", "grade_is_provisional": False, "veto": True, "note": note,
    }
    return {
        "state": "ok", "message": "", "warehouse": "duckdb:///w.duckdb", "generated_at": None,
        "plans": [{"plan_id": "12th", "start_year": 2011, "end_year": 2015, "base_year": 2010,
                   "national_target_pct": 17.0, "has_data": True, "has_target": True,
                   "latest_year": 2015}],
        "plan": "12th",
        "plan_info": {"plan_id": "12th", "start_year": 2011, "end_year": 2015,
                      "base_year": 2010, "national_target_pct": 17.0, "latest_year": 2015},
        "rows": [row], "status_counts": {"missed": 1},
        "runs": [{"run_id": "run-<i>1</i>", "finished_at": None, "vintage": "v\"><x>",
                  "method": "reference", "factor_version": "f1", "status": "published",
                  "code_version": "0.1", "warnings": 0, "data_docs": True}],
        "validation": {"run_id": "run-<i>1</i>", "data_docs": True,
                       "counts": {"expectations": 2, "passed": 1, "errors": 0, "warnings": 1},
                       "issues": [{"source": "gdp", "expectation": "<img src=x onerror=1>",
                                   "column": "value", "severity": "warning", "success": False,
                                   "unexpected_count": 1, "examples": "<script>x</script>"}]},
    }


def test_render_report_html_escapes_every_value():
    page = report.render_report_html(_crafted("<script>alert('x')</script> & more"))
    assert "<script>" not in page
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; more" in page  # Jinja2 escaping
    assert "Qinghai&lt;b&gt;" in page and "<b>" not in page
    assert "<i>" not in page and "<img" not in page and "<x>" not in page
    assert "v&#34;&gt;&lt;x&gt;" in page
    assert 'href="data-docs/run-%3Ci%3E1%3C%2Fi%3E/index.html"' in page  # encoded, then escaped
    assert "<svg" in page and "veto" in page


def test_render_province_html_escapes_every_value():
    data = {
        "state": "ok", "warehouse": "w", "generated_at": None, "query": "x",
        "province": {"province_code": "630000", "name_en": "<script>p</script>",
                     "name_zh": "青海省", "region": "west", "grid_region": "northwest"},
        "plans": [{"plan_id": "12th<", "plan_info": {"base_year": 2010},
                   "years": [{"year": 2011, "intensity_t_per_10k_yuan": 3.0,
                              "cumulative_decline_pct": 2.0, "expected_decline_pct": 2.1,
                              "assessment": {"status": "on schedule", "grade": "good",
                                             "note": "<script>n</script>", "veto": False}}]}],
    }
    page = report.render_province_html(data)
    assert "<script>" not in page
    assert "&lt;script&gt;p&lt;/script&gt;" in page and "&lt;script&gt;n&lt;/script&gt;" in page
    assert "12th&lt;" in page and 'href="../?plan=12th%3C"' in page


def test_empty_and_unavailable_states_render_without_data():
    empty = report.load_report("duckdb:///nonexistent/dir/w.duckdb")
    assert empty["state"] == "empty" and empty["rows"] == []
    assert "No assessment has been published yet" in report.render_report_html(empty)
    unavailable = {"state": "unavailable", "message": "connection <refused>", "warehouse": "pg"}
    page = report.render_report_html(unavailable)
    assert "cannot be read" in page and "connection &lt;refused&gt;" in page


def _crafted_validation(issues: list[dict[str, Any]], **run: Any) -> dict[str, Any]:
    """The data of `load_validation` for one run with `issues` (failed results)."""
    from carbon_assess.report.formatting import quality_verdict

    held = [{"source": "gdp", "expectation": "expect_column_to_exist", "column": "value",
             "severity": "error", "success": True, "unexpected_count": 0, "examples": None}]
    results = issues + held
    counts = {"expectations": len(results), "passed": len(held),
              "errors": sum(1 for i in issues if i["severity"] == "error"),
              "warnings": sum(1 for i in issues if i["severity"] == "warning")}
    return {
        "state": "ok", "message": "", "warehouse": "duckdb:///w.duckdb", "generated_at": None,
        "run_id": run.get("run_id", "r1"),
        "run": {"run_id": "r1", "status": "published", "finished_at": None, "vintage": "v1",
                "data_docs": True} | run,
        "validation": {"run_id": run.get("restored_run_id") or run.get("run_id", "r1"),
                       "data_docs": True, "counts": counts, "issues": issues},
        "results": results, "verdict": quality_verdict(counts),
    }


WARNING = {"source": "energy_consumption", "expectation": "expect_column_values_to_not_be_null",
           "column": "kerosene", "severity": "warning", "success": False,
           "unexpected_count": 31, "examples": '["<script>x</script>", "Failed"]'}


def test_render_validation_html_severity_and_escaping():
    page = report.render_validation_html(_crafted_validation([WARNING]))
    assert "passed with warnings" in page and 'class="badge warn">passed with warnings<' in page
    assert "<script" not in page and "&lt;script&gt;x&lt;/script&gt;" in page
    assert not _external_urls(page) and "http" not in page
    assert 'class="badge warn">warning<' in _row(page, "kerosene")
    # only the (escaped) example value says Failed, never the page itself
    assert page.replace("&#34;Failed&#34;", "").lower().count("failed") == 0

    error = WARNING | {"severity": "error", "column": "coal"}
    blocked = report.render_validation_html(_crafted_validation([error, WARNING]))
    assert 'class="badge bad">blocked by errors<' in blocked
    assert 'class="badge bad">error<' in _row(blocked, ">coal<")

    clean = report.render_validation_html(_crafted_validation([]))
    assert 'class="badge good">passed<' in clean and "Every expectation held" in clean

    rolled = report.render_validation_html(_crafted_validation(
        [WARNING], run_id="rb<1>", status="rolled back", restored_run_id="r0"))
    assert "rb&lt;1&gt;" in rolled and 'href="../validation/r0"' in rolled
    assert "passed with warnings" in rolled


def test_data_docs_file_stays_inside_the_runs_data_docs(tmp_path):
    runs = tmp_path / "runs"
    docs = runs / "r1" / "validation" / "data_docs"
    (docs / "static").mkdir(parents=True)
    (docs / "index.html").write_text("<html></html>")
    (docs / "static" / "a.css").write_text("")
    (runs / "r1" / "run.json").write_text("{}")
    (tmp_path / "outside.txt").write_text("secret")
    (docs / "link.txt").symlink_to(tmp_path / "outside.txt")

    assert report.data_docs_file(runs, "r1", "index.html") == docs / "index.html"
    assert report.data_docs_file(runs, "r1", "") == docs / "index.html"
    assert report.data_docs_file(runs, "r1", "static/a.css") == docs / "static" / "a.css"
    for run_id, path in [
        ("r1", "../../run.json"), ("r1", "../../../outside.txt"), ("r1", "/etc/passwd"),
        ("r1", "link.txt"), ("r1", "static"), ("r1", "missing.html"), ("..", "r1/run.json"),
        ("r1/validation/..", "index.html"), ("", "index.html"), ("r2", "index.html"),
        ("r1", "index.html\x00"),
    ]:
        assert report.data_docs_file(runs, run_id, path) is None, (run_id, path)


@pytest.mark.postgres
def test_postgres_warehouse_gives_the_same_report(published, pg_url):
    from carbon_assess.pipeline import publish_stage

    publish_stage(published["workdir"], pg_url)
    from_pg = report.load_report(pg_url, plan="12th")
    from_duck = report.load_report(published["url"], plan="12th")
    assert from_pg["state"] == "ok", from_pg["message"]
    assert from_pg["rows"] == from_duck["rows"]
    assert [p["plan_id"] for p in from_pg["plans"]] == [p["plan_id"] for p in from_duck["plans"]]
    assert from_pg["validation"]["counts"] == from_duck["validation"]["counts"]
    with report._reader(pg_url) as reader:  # the session the pages read through
        assert reader.rows("show transaction_read_only") == [{"transaction_read_only": "on"}]
    province = report.load_province(pg_url, "630000")
    assert province["province"]["name_en"] == "Qinghai"
    assert "<svg" in report.render_province_html(province)


def test_a_met_but_vetoed_province_is_coloured_by_its_grade_not_green():
    """Issue 12: Jiangxi, Shandong and Hunan (12th FYP on the NBS files) met the five-year
    target but missed an annual one: grade fail. Bar and status badge follow the grade (red);
    a met province whose grade is only provisional stays green; the reason and the margin show."""
    data = _crafted("note")
    vetoed = data["rows"][0] | {
        "province_code": "360000", "name_en": "Jiangxi", "status": "met", "grade": "fail",
        "veto": True, "cumulative_decline_pct": 21.26, "target_pct": 17.0,
        "expected_decline_pct": 17.0,
        "reason": "veto: annual target missed by 0.06 pp (3.60 % < 3.66 %)",
        "margin_text": "ahead by 4.26 pp: 9.8 Mt CO2 more or 5.1 % less GDP in 2015"}
    provisional = vetoed | {
        "province_code": "110000", "name_en": "Beijing", "grade": "provisional", "veto": False,
        "grade_is_provisional": True,
        "reason": "provisional: no measures sheet; target part 50.0/50",
        "margin_text": "ahead by 19.66 pp: 31.4 Mt CO2 more or 24.0 % less GDP in 2015"}
    data["rows"] = [vetoed, provisional]
    page = report.render_report_html(data)
    green, red = "#2e7d32", "#c62828"

    def bar(name: str) -> str:
        match = re.search(rf"<title>{name}: [^<]*</title>.*?<rect[^>]*>", page, re.S)
        assert match, name
        return match.group(0)

    assert red in bar("Jiangxi") and green not in bar("Jiangxi")
    assert "grade fail; veto: annual target missed by 0.06 pp" in bar("Jiangxi")
    assert green in bar("Beijing")
    jiangxi = _row(page, "Jiangxi")
    assert 'class="badge good"' not in jiangxi and 'class="badge bad">met<' in jiangxi
    assert "veto: annual target missed by 0.06 pp (3.60 % &lt; 3.66 %)" in jiangxi
    assert "ahead by 4.26 pp: 9.8 Mt CO2 more" in jiangxi
    assert 'class="badge good">met<' in _row(page, "Beijing")


# ------------------------------------------------------------- issue 18, step 7: acting on it

BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
REJECTED_JSON = "20990101T020000Z-rej002"


@pytest.mark.airflow
def test_a_link_opened_while_logged_out_goes_to_the_login_page(client, auth_manager):
    """A browser without a session (a bookmarked page, an expired login) lands on the auth
    manager's login page with `next` back to the page, not on `{"detail":"Not authenticated"}`;
    a caller that does not ask for HTML still gets the 401."""
    from urllib.parse import parse_qs, urlsplit

    login = urlsplit(auth_manager.get_url_login()).path  # SimpleAuthManager: /auth/login
    assert "login" in login
    for path in ("/", "/province/630000", f"/quarantine/{REJECTED}", "/validation/x"):
        response = client.get(path, headers={"Accept": BROWSER_ACCEPT}, follow_redirects=False)
        assert response.status_code in (302, 303, 307), (path, response.status_code)
        assert "Not authenticated" not in response.text
        location = urlsplit(response.headers["location"])
        assert location.path == login, response.headers["location"]
        assert parse_qs(location.query)["next"] == [f"http://testserver{path}"]
    api = client.get("/api/assessment.json", headers={"Accept": "application/json"},
                     follow_redirects=False)
    assert api.status_code == 401 and api.json() == {"detail": "Not authenticated"}


@pytest.mark.airflow
def test_quarantine_page_lists_the_cells_with_province_and_year_and_no_server_path(
        client, viewer, outcomes):
    """A rejected run whose quarantine folder has report.json (what `write_report` writes): the
    page is HTML with a table per finding (file, row, province and year, column, value), not
    the markdown text, and no absolute path of the server (work directory, quarantine folder,
    Data Docs, the report in the run's reason) appears; the report is named by its place in the
    assessment home."""
    import duckdb

    from carbon_assess.quarantine import render_offender, write_report

    home = outcomes["home"]
    folder = home / "quarantine" / REJECTED_JSON
    cell = {"file": "prov_gdp.csv", "sheet": None, "row": 12, "column": "地区生产总值(亿元)",
            "value": "24170", "detail": None, "region_code": "630000", "year": 2015}
    finding = {"run_id": REJECTED_JSON, "source": "gdp", "column": "value", "severity": "error",
               "expectation": "expect_column_values_to_be_null: a cell 10x both neighbours",
               "success": False, "unexpected_count": 1, "examples": render_offender(cell),
               "rule": "a cell 10^k times both its series neighbours", "note": None,
               "offenders": [cell]}
    held = {**finding, "success": True, "unexpected_count": 0, "examples": "", "offenders": [],
            "rule": "value must be >= 0", "expectation": "expect_column_values_to_be_between"}
    summary = {"run_id": REJECTED_JSON, "workdir": str(home / "runs" / REJECTED_JSON),
               "status": "failed", "errors": 1, "warnings": 0, "quarantine": str(folder),
               "data_docs_path": str(folder / "validation" / "data_docs" / "index.html")}
    report_md, _ = write_report(summary, [finding, held], folder)
    con = duckdb.connect(outcomes["url"].removeprefix("duckdb:///"))
    try:
        _log_run(con, REJECTED_JSON, 6, "rejected", failed_stage="validate",
                 reason=f"validation failed: 1 error(s) in gdp; report: {report_md}",
                 report_path=str(report_md), vintage="demo")
    finally:
        con.close()

    response = client.get(f"/quarantine/{REJECTED_JSON}", headers=viewer)
    assert response.status_code == 200, response.text[:2000]
    page = response.text
    assert "<pre" not in page and "| file | row |" not in page  # a page, not markdown
    cells = re.findall(r"<td[^>]*>(.*?)</td>", _row(page, "prov_gdp.csv"), re.S)
    assert cells[:5] == ["prov_gdp.csv", "12", "青海省 (630000) 2015", "地区生产总值(亿元)",
                         "<code>24170</code>"]
    assert 'class="badge bad">error<' in page and "1 failed error expectations" in page
    assert "Expectations that held (1)" in page
    assert f"report: quarantine/{REJECTED_JSON}/report.md" in page
    assert str(home) not in page
    assert not re.search(r"(?<![\w:/])/(tmp|work|home|root|srv|var|opt|usr)/", page)


def test_a_plan_with_only_its_base_year_is_not_drawn(published):
    """The demo data end in 2020, the 14th FYP's base year: the warehouse has Qinghai's 14th-plan
    intensity for 2020 only. The province page draws the 11th-13th plans and says the 14th has
    only its base year; no chart series, legend or table of the 14th."""
    import duckdb

    con = duckdb.connect(published["url"].removeprefix("duckdb:///"), read_only=True)
    try:
        years = con.execute("select distinct year from carbon.fct_intensity "
                            "where plan_id = '14th' and province_code = '630000'").fetchall()
    finally:
        con.close()
    assert years == [(2020,)]  # what the page must not draw as a plan

    data = report.load_province(published["url"], "630000")
    assert [p["plan_id"] for p in data["plans"]] == ["11th", "12th", "13th"]
    page = report.render_province_html(data)
    assert "13th (prices of 2015)" in page and "13th decline" in page  # the charts are there
    assert "14th (prices" not in page and "14th decline" not in page
    assert "14th Five-Year Plan 2021" not in page  # no table of its own
    assert "The 14th Five-Year Plan (2021–2025) has only its base year 2020 so far" in page
