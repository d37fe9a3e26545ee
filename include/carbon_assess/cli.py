"""`carbon-assess`: the command-line contract of DESIGN.md §9.

Exit codes: 0 success; 2 input rejected (nothing published; the message names the report or the
file, row, column and rule); 1 any other failure. Errors print one line, `error: ...`; the
traceback only with --debug.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from pathlib import Path
from typing import Any

from carbon_assess.demo import write_demo_landing
from carbon_assess.errors import EXIT_FAILURE, EXIT_OK, CarbonAssessError, printable
from carbon_assess.fetch import nbs
from carbon_assess.fetch.snapshots import list_snapshots, snapshot_vintage, snapshots_root
from carbon_assess.ingest.provinces import resolve_province
from carbon_assess.ingest.regions import resolve_region
from carbon_assess.pipeline import (
    DEFAULT_METHOD,
    METHODS,
    assess_stage,
    check_outputs_stage,
    compute_stage,
    ingest_stage,
    new_run_id,
    run_pipeline,
    validate_stage,
)
from carbon_assess.publish import init_warehouse, rollback
from carbon_assess.report import query_assessment
from carbon_assess.report.history import DEFAULT_TOLERANCE_PP, diff_releases
from carbon_assess.validate import warnings_count
from carbon_assess.workdir import Run


def _format_table(columns: list[str], rows: list[tuple], gap: str = "  ") -> str:
    def cell(value: Any) -> str:
        if value is None:
            return "-"
        if isinstance(value, float):
            return f"{value:.2f}"
        return str(value)

    text = [[cell(v) for v in row] for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in text]) for i, c in enumerate(columns)]
    lines = [gap.join(c.ljust(w) for c, w in zip(columns, widths, strict=True))]
    lines.append(gap.join("-" * w for w in widths))
    lines += [gap.join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in text]
    return "\n".join(lines)


def _summary_lines(result: dict[str, Any]) -> list[str]:
    ingest = result["ingest"]
    lines = [
        f"run {result['run_id']}: {len(ingest['inputs'])} input table(s), "
        + ", ".join(f"{k} {v}" for k, v in ingest["row_counts"].items()),
    ]
    validated = result.get("validate") or {}
    if validated:
        # the run's warnings as recorded in results.parquet (= meta_pipeline_run.warnings)
        warnings = warnings_count(validated.get("results_path") or "")
        if warnings is None:
            warnings = validated.get("warnings", 0)
        lines.append(
            f"validation: {validated.get('status')} "
            f"({validated.get('errors', 0)} error(s), {warnings} warning(s))"
        )
    for warning in ingest["warnings"]:
        lines.append(f"warning: {warning}")
    for warning in validated.get("warnings_summary", []):
        lines.append(f"warning: {warning}")
    if validated.get("report_path"):
        lines.append(f"validation report: {validated['report_path']}")
    if validated.get("data_docs_path"):
        lines.append(f"data docs: {validated['data_docs_path']}")
    if "assess" in result:
        statuses = ", ".join(f"{k} {v}" for k, v in result["assess"]["statuses"].items())
        lines.append(f"assessment: {statuses}")
        for agreement in result["assess"].get("official_agreement", []):
            disagreeing = "; ".join(
                f"{d['name_en']} ({d['computed']} vs {d['official']}"
                + (f", margin {d['margin_pp']:+.2f} pp" if d["margin_pp"] is not None else "")
                + (", within margin" if d["within_margin"] else "") + ")"
                for d in agreement["disagreeing"]
            )
            uncompared = agreement["provinces"] - agreement["pass_fail_compared"]
            lines.append(
                f"{agreement['assessment_year']} pass/fail agreement with the official results: "
                f"{agreement['pass_fail_agree']}/{agreement['provinces']} ("
                + (f"{uncompared} without a computed verdict; " if uncompared else "")
                + f"grades: {agreement['grades_agree']}/{agreement['grades_compared']} "
                f"with a final computed grade; disagreeing: {disagreeing or 'none'})"
            )
    gate = result.get("check_outputs") or {}
    if gate:
        lines.append(f"output gate: {gate.get('status')} ({gate.get('expectations', 0)} "
                     f"expectation(s) on {', '.join(gate.get('tables', []))})")
        for warning in gate.get("warnings_summary", []):
            lines.append(f"warning: {warning}")
    if "publish" in result:
        lines.append(f"published to {result['publish']['warehouse']} (schema carbon)")
    return lines


def cmd_demo_data(args: argparse.Namespace) -> int:
    files = write_demo_landing(Path(args.dir))
    print(f"wrote {len(files)} synthetic demo landing file(s) to {args.dir}")
    return EXIT_OK


def _vintage(args: argparse.Namespace) -> str:
    """--vintage, else the snapshot id of the fetched content in the landing folder (see
    `carbon-assess fetch`), else 'unlabelled'."""
    vintage = snapshot_vintage(args.landing, args.vintage)
    if not args.vintage and vintage != "unlabelled":
        print(f"vintage {vintage} (the NBS portal snapshot of this landing content)")
    return vintage


def cmd_run(args: argparse.Namespace) -> int:
    result = run_pipeline(
        args.landing,
        args.warehouse,
        vintage=_vintage(args),
        method=args.method,
        workdir=args.workdir,
        electricity_trade=args.electricity_trade,
    )
    _print_lines(_summary_lines(result))
    return EXIT_OK


def _print_lines(lines: list[str]) -> None:
    """Print summary lines, each escaped (`printable`): a file name with a newline in a warning
    cannot forge a line of output."""
    print("\n".join(printable(line) for line in lines))


def cmd_validate(args: argparse.Namespace) -> int:
    run_id = new_run_id()
    # kept (under $CARBON_ASSESS_HOME/runs) so that the report and Data Docs can be opened
    run = Run(Path(args.workdir)) if args.workdir else Run.in_home(run_id)
    ingested = ingest_stage(args.landing, run, run_id, vintage=_vintage(args))
    validated = validate_stage(run)
    # every check a run makes before publishing: the models' own flags (post-compute check) and
    # the output gate need the computed facts; nothing is published
    compute_stage(run)
    assessed = assess_stage(run)
    checked = check_outputs_stage(run)
    _print_lines(_summary_lines({"run_id": run_id, "ingest": ingested, "validate": validated,
                                 "assess": assessed, "check_outputs": checked}))
    return EXIT_OK


def _default_year(rows: list[tuple], columns: list[str]) -> dict[str, int]:
    plan_i, year_i, status_i = (columns.index(c) for c in ("plan", "year", "status"))
    latest: dict[str, int] = {}
    for row in rows:
        if row[status_i] != "insufficient data":
            latest[row[plan_i]] = max(latest.get(row[plan_i], 0), row[year_i])
    for row in rows:
        latest.setdefault(row[plan_i], max(r[year_i] for r in rows if r[plan_i] == row[plan_i]))
    return latest


# `show` without --wide: these columns of the query (header, column), one space apart, the
# reason last, cut with "…" so that every line fits SHOW_WIDTH characters. To leave the reason
# room for the "by how much" of a veto: short headers, province names cut at 12 characters
# ("Inner Mongo…") and "insufficient data" shortened to "no data" in status and grade (the
# reason says which data). --wide, csv and json give every column in full.
SHOW_WIDTH = 100
_SHOW_COLUMNS = (("plan", "plan"), ("code", "code"), ("province", "province"), ("year", "year"),
                 ("decl%", "decline_pct"), ("tgt%", "target_pct"), ("status", "status"),
                 ("grade", "grade"), ("reason", "reason"))
_SHOW_SHORT = {"insufficient data": "no data"}
_PROVINCE_WIDTH = 12
_SHOW_FOOTER = ("decl%, tgt%: cumulative decline and target (%); no data = insufficient data; "
                "--wide: every column")
_SHOW_PROVISIONAL = ("*: provisional verdict, decided by an input cell validation flagged "
                     "(provisional_cells, --wide)")


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[:max(width - 1, 0)] + "…"


def _narrow_table(columns: list[str], rows: list[tuple], width: int = SHOW_WIDTH) -> str:
    """The default `show` table: status, grade and the reason, every line ≤ `width`."""
    index = [columns.index(c) for _, c in _SHOW_COLUMNS]
    def short(column: str, value: Any) -> Any:
        if column in ("status", "grade"):
            return _SHOW_SHORT.get(value, value)
        if column == "province" and value is not None:
            return _cut(str(value), _PROVINCE_WIDTH)
        return value

    provisional = columns.index("verdict_is_provisional")
    picked = [tuple(f"{short(c, v)}*" if c == "status" and r[provisional] else short(c, v)
                    for (_, c), v in zip(_SHOW_COLUMNS, (r[i] for i in index), strict=True))
              for r in rows]
    headers = [h for h, _ in _SHOW_COLUMNS]
    fixed = _format_table(headers[:-1], [r[:-1] for r in picked], " ").splitlines()[0]
    room = max(width - len(fixed) - 1, len("reason"))
    picked = [(*r[:-1], _cut(str(r[-1] or "-"), room)) for r in picked]
    lines = [line.rstrip() for line in _format_table(headers, picked, " ").splitlines()]
    footer = [_SHOW_FOOTER] + ([_SHOW_PROVISIONAL] if any(r[provisional] for r in rows) else [])
    return "\n".join([*(_cut(line, width) for line in [*lines, *footer])])


def _csv_text(columns: list[str], rows: list[tuple]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(["" if v is None else v for v in r] for r in rows)
    return out.getvalue().rstrip("\n")


def cmd_show(args: argparse.Namespace) -> int:
    columns, rows = query_assessment(args.warehouse, args.plan, args.province, args.year,
                                     region=args.region)
    if not rows:
        print("no assessment rows match")
        return EXIT_OK
    if args.year is None and not args.all_years:
        latest = _default_year(rows, columns)
        plan_i, year_i = columns.index("plan"), columns.index("year")
        rows = [r for r in rows if r[year_i] == latest[r[plan_i]]]
    form = "json" if args.json else args.format
    if form == "json":
        print(json.dumps([dict(zip(columns, r, strict=True)) for r in rows], ensure_ascii=False,
                         indent=2, default=str))
    elif form == "csv":
        print(_csv_text(columns, rows))
    elif args.wide:
        print(_format_table(columns, rows))
    else:
        print(_narrow_table(columns, rows))
    return EXIT_OK


def cmd_fetch(args: argparse.Namespace) -> int:
    if args.list:
        return _list_snapshots()
    if not args.landing:
        raise CarbonAssessError("fetch: give --landing DIR (or --list)")
    result = nbs.fetch_release(args.landing, base_url=args.base_url, years=args.years,
                               indicators=args.indicators,
                               accept_unit_change=args.accept_unit_change)
    lines = [f"snapshot {result['snapshot_id']}: {result['indicators']} indicator(s), years "
             f"{result['years']}, {result['requests']} request(s), kept in "
             f"{result['snapshot']}"]
    if result["changed"]:
        lines.append(f"wrote {len(result['files'])} file(s) to {result['landing']}: "
                     + ", ".join(f"{f} ({result['rows'][f]} rows)" for f in result["files"]))
        lines.append(f"vintage {result['vintage']}: `carbon-assess run --landing "
                     f"{result['landing']}` assesses it under this vintage")
    else:
        lines.append(f"landing folder unchanged: the portal serves the content of snapshot "
                     f"{result['vintage']} (its vintage); nothing written")
    _print_lines(lines)
    return EXIT_OK


def _list_snapshots() -> int:
    root = snapshots_root()
    found = list_snapshots(root, verify=True)
    if not found:
        print(f"no snapshot in {root}")
        return EXIT_OK
    rows = [(s["id"], s["retrieved_at"][:19] + "Z", s.get("years", ""),
             len(s.get("indicators", [])), len(s.get("requests", [])),
             s.get("content_sha256", "")[:12],
             "new content" if s["new_content"] else f"same as {s['vintage']}"
             if s["vintage"] != s["id"] else "same as previous",
             "ok" if s["intact"] else "MODIFIED")
            for s in found]
    print(f"{len(found)} snapshot(s) in {root}")
    print(_format_table(["snapshot (vintage)", "retrieved (UTC)", "years", "indicators",
                         "requests", "content", "vs previous", "sha256"], rows))
    return EXIT_OK


def cmd_warehouse_init(args: argparse.Namespace) -> int:
    result = init_warehouse(args.warehouse)
    print(f"warehouse ready: {result['warehouse']}")
    if "publisher" in result:
        login = ("may log in (password from $CARBON_PUBLISHER_PASSWORD)"
                 if result["publisher_login"] else
                 "NOLOGIN: grant it to the login role that publishes, or set "
                 "$CARBON_PUBLISHER_PASSWORD and rerun")
        print(f"roles: {result['role']} (read-only), {result['publisher']} ({login})")
    for note in result.get("notes", []):
        print(f"note: {note}")
    return EXIT_OK


def cmd_diff(args: argparse.Namespace) -> int:
    result = diff_releases(args.warehouse, args.from_release, args.to_release, args.tolerance)
    columns, rows = result["columns"], result["rows"]
    if args.format == "json":
        print(json.dumps({"from": result["from"], "to": result["to"],
                          "tolerance_pp": result["tolerance_pp"],
                          "changes": [dict(zip(columns, r, strict=True)) for r in rows]},
                         ensure_ascii=False, indent=2, default=str))
    elif args.format == "csv":
        import csv

        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows(rows)
    else:
        print(f"release {result['from']} → {result['to']}: {len(rows)} change(s) in status, "
              f"grade or cumulative decline (tolerance {result['tolerance_pp']:g} pp)")
        if rows:
            arrow = [(p, y, f"{c} {n or ''}".strip(), f"{sf or '-'} → {st or '-'}",
                      f"{gf or '-'} → {gt or '-'}", f"{_pp(df)} → {_pp(dt)}", _pp(ch, sign=True))
                     for p, y, c, n, sf, st, gf, gt, df, dt, ch in rows]
            print(_format_table(["plan", "year", "province", "status", "grade", "decline %",
                                 "change pp"], arrow))
    return EXIT_OK


def _pp(value: float | None, sign: bool = False) -> str:
    if value is None:
        return "-"
    return f"{value:+.2f}" if sign else f"{value:.2f}"


def cmd_rollback(args: argparse.Namespace) -> int:
    result = rollback(args.warehouse)
    restored = result.get("restored_run_id")
    release = f"the release of run {restored}" if restored else "the previous release"
    print(f"restored {release} ({len(result['restored_tables'])} tables); recorded in "
          f"carbon.meta_pipeline_run as run {result['run_id']} (status 'rolled back')")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="carbon-assess",
        description="Provincial carbon-intensity assessment pipeline.",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    # `--debug` is accepted after the command too (carbon-assess run ... --debug)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser(
        "demo-data", parents=[common], help="write the bundled synthetic demo landing files")
    demo.add_argument("dir")
    demo.set_defaults(func=cmd_demo_data)

    run = sub.add_parser(
        "run", parents=[common],
        help="ingest → validate → compute → assess → output gate → publish")
    run.add_argument("--landing", required=True, help="landing folder (scanned recursively)")
    run.add_argument("--warehouse", required=True,
                     help="duckdb:///path/file.duckdb or postgresql://user@host:port/db")
    run.add_argument("--vintage", help="data release label, e.g. nbs-2021 (default: the "
                     "snapshot id of content fetched by `fetch`, else 'unlabelled')")
    run.add_argument("--method", default=DEFAULT_METHOD, choices=METHODS)
    run.add_argument("--electricity-trade", action="store_true",
                     help="also report CO2 of net imported electricity at the regional grid "
                     "factor (a separate column; not part of the intensity)")
    run.add_argument("--workdir", help="work directory for this run (default var/runs/<run id>)")
    run.set_defaults(func=cmd_run)

    validate = sub.add_parser(
        "validate", parents=[common],
        help="every check a run makes (input suites, post-compute check, output gate); "
             "publish nothing")
    validate.add_argument("--landing", required=True)
    validate.add_argument("--vintage")
    validate.add_argument("--workdir", help="keep the work directory here")
    validate.set_defaults(func=cmd_validate)

    show = sub.add_parser(
        "show", parents=[common], help="print the published assessment table")
    show.add_argument("--warehouse", required=True)
    show.add_argument("--plan", help="e.g. 12th")
    show.add_argument("--province", help="GB/T 2260 code, e.g. 630000")
    show.add_argument("--region", help="any unit: a prefecture or county code (GB/T 2260, e.g. "
                      "360500), a unique name, or a declared unit's code")
    show.add_argument("--year", type=int, help="assessment year (default: latest with data)")
    show.add_argument("--all-years", action="store_true", help="every year of the plan")
    show.add_argument("--format", choices=("table", "csv", "json"), default="table",
                      help="table (default; fits 100 columns unless --wide), or every column "
                      "of the assessment as csv or json")
    show.add_argument("--json", action="store_true", help="same as --format json")
    show.add_argument("--wide", action="store_true",
                      help="table with every column (margin, veto, scores, note), not cut")
    show.set_defaults(func=cmd_show)

    fetch = sub.add_parser(
        "fetch", parents=[common],
        help="fetch the provincial statistics from the NBS data portal into a landing folder "
        "(every fetch kept as a snapshot: $CARBON_ASSESS_HOME/snapshots)")
    fetch.add_argument("--landing", help="landing folder to write the NBS long-layout files to")
    fetch.add_argument("--base-url", default=nbs.DEFAULT_BASE_URL,
                       help=f"the portal's site root (default {nbs.DEFAULT_BASE_URL}); requests "
                       "go to <base-url>/easyquery.htm")
    fetch.add_argument("--years", help="A-B (default 2000 to the current year)")
    fetch.add_argument("--indicators", help="comma-separated keys or portal names (default "
                       "all): " + ", ".join(w.key for w in nbs.INDICATORS))
    fetch.add_argument("--accept-unit-change", action="store_true",
                       help="take an indicator whose unit differs from the previous snapshot "
                       "(refused by default)")
    fetch.add_argument("--list", action="store_true", help="list the snapshots kept")
    fetch.set_defaults(func=cmd_fetch)

    warehouse = sub.add_parser(
        "warehouse", parents=[common], help="warehouse administration")
    warehouse_sub = warehouse.add_subparsers(dest="warehouse_command", required=True)
    init = warehouse_sub.add_parser(
        "init", parents=[common], help="create schemas, roles and grants (idempotent)")
    init.add_argument("--warehouse", required=True)
    init.set_defaults(func=cmd_warehouse_init)

    roll = sub.add_parser(
        "rollback", parents=[common], help="restore the previous published release")
    roll.add_argument("--warehouse", required=True)
    roll.set_defaults(func=cmd_rollback)

    diff = sub.add_parser(
        "diff", parents=[common],
        help="what changed between two published releases (status, grade, decline)")
    diff.add_argument("--warehouse", required=True)
    diff.add_argument("--from", dest="from_release",
                      help="release id (run id) to compare from (default: the one before --to)")
    diff.add_argument("--to", dest="to_release",
                      help="release id to compare to (default: the current release)")
    diff.add_argument("--tolerance", type=float, default=DEFAULT_TOLERANCE_PP,
                      help="ignore cumulative-decline changes up to this many percentage points "
                      f"(default {DEFAULT_TOLERANCE_PP:g})")
    diff.add_argument("--format", choices=("table", "csv", "json"), default="table")
    diff.set_defaults(func=cmd_diff)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "show" and args.province:
        args.province = resolve_province(args.province) or args.province
    if args.command == "show" and args.region:
        args.region = resolve_region(args.region) or args.region
    try:
        return args.func(args)
    except CarbonAssessError as exc:
        if args.debug:
            raise
        message = str(exc)
        report = exc.report_path
        if report and report not in message:
            message += f" (report: {report})"
        print(f"error: {printable(message)}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return EXIT_FAILURE
    except Exception as exc:  # noqa: BLE001 - the user gets one line, --debug gives the rest
        if args.debug:
            raise
        print(printable(f"error: unexpected {exc.__class__.__name__}: {exc} (rerun with "
                        "--debug)"), file=sys.stderr)
        return EXIT_FAILURE


if __name__ == "__main__":
    sys.exit(main())
