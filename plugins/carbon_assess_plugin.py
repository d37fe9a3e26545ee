"""Airflow UI plugin: the published carbon-intensity assessment, inside the Airflow UI.

A FastAPI app mounted by the API server at `/carbon-assess` (server-rendered HTML, inline SVG
charts, no JavaScript) and a "Carbon assessment" entry in the UI's Browse menu that shows it.

Routes (all relative to the mount point):

- `/`                               the current release's assessment (`?plan=12th` for another
                                    plan), the last runs of every status (published, rolled
                                    back, rejected, failed, skipped: badge, stage, reason) and
                                    the current release's validation results
- `/province/{code}`                one province's intensity and declines, per plan
- `/validation/{run_id}`            a run's data quality (carbon.meta_validation_result):
                                    verdict, counts by severity, the expectations that did not
                                    hold, a rejected/failed/skipped run's reason; self-contained,
                                    works offline (no CDN, no script)
- `/quarantine/{run_id}`            a rejected run's quarantine report (the report.md its
                                    run-log row records, only from
                                    `<home>/quarantine/<run_id>/`), as a page: each finding's
                                    cells (file, row, province and year, column, value) from
                                    the report.json beside it, no path of the server
- `/snapshots`                      the NBS portal snapshots behind each release (every fetch of
                                    `carbon-assess fetch` / DAG `nbs_fetch`), without server paths
- `/api/assessment.json`            the data of `/` as JSON (`?plan=` too)
- `/data-docs/{run_id}/{path}`      a run's GX Data Docs, only from
                                    `<runs>/<run_id>/validation/data_docs/` (they load their
                                    CSS and scripts from CDNs: they need internet)

Security: Airflow mounts plugin apps without any of the core API's authentication. Every route
here depends, at the application level, on Airflow's own `requires_access_dag("GET",
param_dag_id=DAG_ID)` from `airflow.api_fastapi.core_api.security`: it resolves the user with
the core API's `get_user` (JWT from `Authorization: Bearer` or the UI's `_token` cookie; 401
without one, 403 for an invalid one) and asks the configured auth manager whether that user may
read the DAG `carbon_intensity_assessment` (403 otherwise). OpenAPI/docs routes are disabled
because FastAPI serves them outside the dependency system. A browser (a GET asking for HTML)
without a session is redirected to the auth manager's login page, which brings it back to the
page afterwards; any other caller gets the 401.

Data access and HTML live in the library (`carbon_assess.report`); this file wires routes and
resolves settings. It imports nothing heavy (DuckDB, psycopg and pandas load on first request).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

from airflow.api_fastapi.core_api.security import requires_access_dag
from airflow.plugins_manager import AirflowPlugin
from fastapi import Depends, FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import (
    FileResponse,
    HTMLResponse,
    JSONResponse,
    RedirectResponse,
    Response,
)
from starlette.exceptions import HTTPException

REPO_ROOT = Path(__file__).resolve().parent.parent

# Like the DAG: the library is installed (pip install -e ., or in the image built by Dockerfile);
# otherwise make <repo>/include importable.
if importlib.util.find_spec("carbon_assess") is None:
    sys.path.insert(0, str(REPO_ROOT / "include"))

from carbon_assess import report, settings  # noqa: E402  (after the sys.path fallback above)
from carbon_assess.errors import CarbonAssessError  # noqa: E402
from carbon_assess.report.snapshots import load_snapshots, render_snapshots_html  # noqa: E402

DAG_ID = settings.DAG_ID
URL_PREFIX = "/carbon-assess"

# Our pages run no script at all; a strict policy makes any injected markup inert. The UI shows
# the pages in a same-origin iframe, hence frame-ancestors 'self'.
HTML_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
        "form-action 'self'; base-uri 'none'; frame-ancestors 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
# GX Data Docs load jQuery, Bootstrap and Vega from public CDNs. Sandboxed (an opaque origin),
# those scripts cannot act with the operator's Airflow session.
DATA_DOCS_HEADERS = {
    "Content-Security-Policy": (
        "sandbox allow-scripts allow-popups allow-popups-to-escape-sandbox; "
        "frame-ancestors 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}


# ------------------------------------------------------------------------------------ settings


def warehouse_url() -> str:
    """The warehouse the DAG publishes to, resolved as the DAG does when its run conf is empty
    (`carbon_assess.settings`: connection, Variable, environment, default)."""
    return settings.warehouse_url(None, REPO_ROOT)


def runs_dir() -> Path:
    """Where the DAG's tasks keep each run's work directory (and its GX Data Docs)."""
    return settings.runs_dir(REPO_ROOT)


def quarantine_dir() -> Path:
    """Where rejected batches and their report.md are kept: `$CARBON_ASSESS_HOME/quarantine`,
    else `<repo>/var/quarantine` (beside `runs_dir()`, as `Run.quarantine` places them)."""
    return settings.quarantine_dir(REPO_ROOT)


def _resolve_url() -> tuple[str | None, dict[str, Any] | None]:
    """The warehouse URL, or the data of an 'unavailable' page when it cannot be resolved
    (e.g. the Airflow connection named by the settings does not exist)."""
    try:
        return warehouse_url(), None
    except CarbonAssessError as exc:
        return None, {"state": "unavailable", "message": str(exc), "warehouse": "(not resolved)"}


# ------------------------------------------------------------------------------------ app

app = FastAPI(
    title="Carbon-intensity assessment",
    # The interactive docs and the OpenAPI schema are plain Starlette routes, outside the
    # dependency system: they would be reachable without authentication.
    docs_url=None,
    redoc_url=None,
    openapi_url=None,
    dependencies=[Depends(requires_access_dag("GET", param_dag_id=DAG_ID))],
)


def login_url(request: Request) -> str:
    """The auth manager's login page, with `next` back to the page asked for. A login URL the
    auth manager gives from the server root gets the prefix the API server is served under
    (whatever precedes this app's mount point)."""
    from airflow.api_fastapi.app import get_auth_manager

    url = get_auth_manager().get_url_login(next_url=str(request.url))
    if url.startswith("/") and not url.startswith("//"):
        root = request.scope.get("root_path") or ""
        base = root[: -len(URL_PREFIX)] if root.endswith(URL_PREFIX) else ""
        url = base.rstrip("/") + url
    return url


@app.exception_handler(HTTPException)
async def _login_instead_of_401(request: Request, exc: HTTPException) -> Response:
    """A page opened without a session (a link followed while logged out, an expired token):
    to the login page, not a bare `{"detail": "Not authenticated"}`. Only browsers asking for
    HTML are redirected; API clients and every other error keep FastAPI's answer."""
    wants_html = "text/html" in request.headers.get("accept", "")
    if exc.status_code == 401 and request.method in ("GET", "HEAD") and wants_html:
        return RedirectResponse(login_url(request), status_code=303,
                                headers={"Cache-Control": "no-store"})
    return await http_exception_handler(request, exc)


def _html(page: str, status_code: int = 200) -> HTMLResponse:
    return HTMLResponse(page, status_code=status_code, headers=HTML_HEADERS)


def _status(data: dict[str, Any]) -> int:
    return 503 if data.get("state") == "unavailable" else 200


def _report(plan: str | None) -> dict[str, Any]:
    url, failed = _resolve_url()
    if failed:
        return failed
    return report.load_report(url, plan=plan or None, runs_dir=runs_dir(),
                              quarantine_dir=quarantine_dir())


@app.get("/", response_class=HTMLResponse)
def report_page(plan: str | None = None) -> Response:
    """The assessment of one plan (default: the latest with data), runs and data quality."""
    try:
        data = _report(plan)
    except report.ReportNotFound as exc:
        return _html(report.render_message_html("Not found", str(exc)), 404)
    return _html(report.render_report_html(data, root=""), _status(data))


def _subpage(load: Any, render: Any, query: dict[str, str]) -> Response:
    """A page one level below the app root: `load(url)` its data, `render` it; 404 when the
    thing asked for does not exist, 503 when the warehouse cannot be resolved."""
    url, failed = _resolve_url()
    if failed:
        data = {**failed, **query}
    else:
        try:
            data = load(url)
        except report.ReportNotFound as exc:
            return _html(report.render_message_html("Not found", str(exc), root="../"), 404)
    return _html(render(data, root="../"), _status(data))


@app.get("/province/{code}", response_class=HTMLResponse)
def province_page(code: str) -> Response:
    """One province's carbon intensity and declines, per plan."""
    return _subpage(lambda url: report.load_province(url, code), report.render_province_html,
                    {"query": code})


@app.get("/validation/{run_id}", response_class=HTMLResponse)
def validation_page(run_id: str) -> Response:
    """Run `run_id`'s data quality, rendered here from carbon.meta_validation_result."""
    return _subpage(lambda url: report.load_validation(url, run_id, runs_dir=runs_dir(),
                                                       quarantine_dir=quarantine_dir()),
                    report.render_validation_html, {"run_id": run_id})


@app.get("/quarantine/{run_id}", response_class=HTMLResponse)
def quarantine_page(run_id: str) -> Response:
    """Run `run_id`'s quarantine report (report.json beside report.md) as a page; 404 unless
    the run log names one inside `<quarantine_dir()>/<run_id>/` (see
    `report.quarantine_report_file`)."""
    not_found = _html(report.render_message_html(
        "Not found", f"No quarantine report of run {run_id!r} on this server.", root="../"), 404)
    if not report.RUN_ID_PATTERN.fullmatch(run_id):
        return not_found
    url, failed = _resolve_url()
    if failed:
        return _html(report.render_quarantine_html({**failed, "run_id": run_id}), 503)
    try:
        data = report.load_quarantine_report(url, run_id, quarantine_dir())
    except report.ReportNotFound:
        return not_found
    if data.get("state") == "empty":  # no warehouse, no run log: no such run
        return not_found
    return _html(report.render_quarantine_html(data, root="../"), _status(data))


@app.get("/snapshots", response_class=HTMLResponse)
def snapshots_page() -> Response:
    """The NBS portal snapshots behind each release, and those not assessed yet."""
    url, failed = _resolve_url()
    data = load_snapshots(url, settings.snapshots_dir(REPO_ROOT)) if url else {
        "state": "ok", "releases": [], "unassessed": [], "note": (failed or {}).get("message")}
    return _html(render_snapshots_html(data))


@app.get("/api/assessment.json")
def assessment_json(plan: str | None = None) -> Response:
    """The data of the report page as JSON."""
    try:
        data = _report(plan)
    except report.ReportNotFound as exc:
        return JSONResponse({"detail": str(exc)}, status_code=404)
    return JSONResponse(report.to_jsonable(data), status_code=_status(data),
                        headers={"Cache-Control": "no-store"})


@app.get("/data-docs/{run_id}/{path:path}")
def data_docs(run_id: str, path: str) -> Response:
    """A file of run `run_id`'s GX Data Docs; 404 for anything outside that folder."""
    target = report.data_docs_file(runs_dir(), run_id, path or "index.html")
    if target is None:
        root = "../" * (2 + path.count("/"))  # from data-docs/<run_id>/<path> to the app root
        return _html(report.render_message_html(
            "Not found", "No such Data Docs file on this server.", root=root), 404)
    return FileResponse(target, headers=DATA_DOCS_HEADERS)


# ------------------------------------------------------------------------------------ plugin


class CarbonAssessPlugin(AirflowPlugin):
    name = "carbon_assess"
    fastapi_apps = [
        {"app": app, "url_prefix": URL_PREFIX, "name": "Carbon-intensity assessment report"}
    ]
    external_views = [
        {
            "name": "Carbon assessment",
            # Relative, no leading slash: the UI resolves it against its <base href>, so it
            # works under a base_url path or behind a proxy. Trailing slash: the app's root.
            "href": URL_PREFIX.lstrip("/") + "/",
            "url_route": "carbon-assessment",  # shown in an iframe at /plugin/carbon-assessment
            "destination": "nav",
            "category": "browse",
        }
    ]
