"""The failure alert: an Airflow notifier on every task of the assessment DAG.

When a task fails for good (after its retries), it e-mails the stage, the run, the first error
(the one line that names file, row, column and rule) and the quarantine report, through the
Airflow SMTP connection named by the setting `alert_conn_id` (Variable `carbon_alert_conn_id`,
env `CARBON_ALERT_CONN_ID`) to `alert_to` (`carbon_alert_to`, `CARBON_ALERT_TO`, comma
separated). Alerts are off, with one log line, while either is unset. An alert that cannot be
sent is logged and never hides the task's own failure.
"""

from __future__ import annotations

import html
import logging
from pathlib import Path
from typing import Any

from airflow.sdk import BaseNotifier

from carbon_assess import settings
from carbon_assess.errors import CarbonAssessError, is_rejection, one_line_error

log = logging.getLogger(__name__)
DEFAULT_SENDER = "carbon-assess@localhost"  # unless the connection's extra sets from_email


def alert_text(context: dict[str, Any]) -> tuple[str, str]:
    """(subject, plain-text body) of the alert for a failed task's context."""
    ti = context.get("ti") or context.get("task_instance")
    dag_run = context.get("dag_run")
    exc = context.get("exception")
    stage = getattr(ti, "task_id", "?")
    run_id = getattr(dag_run, "run_id", None) or getattr(ti, "run_id", "?")
    rejected = exc is not None and is_rejection(exc)
    if isinstance(exc, CarbonAssessError):
        first = str(exc)
    elif exc is not None:
        first = f"{type(exc).__name__}: {one_line_error(exc)}"
    else:
        first = "(no exception recorded; see the task log)"
    report = getattr(exc, "report_path", None)
    verdict = "rejected" if rejected else "failed"
    subject = f"[carbon-assess] run {run_id} {verdict} at {stage}"
    if getattr(dag_run, "dag_id", None) == settings.FETCH_DAG_ID:
        return f"[carbon-assess] NBS fetch {run_id} {verdict}", "\n".join([
            f"The NBS data portal fetch {run_id} {verdict} at task {stage!r}.",
            "The landing folder is unchanged; no snapshot was kept for this fetch.",
            "",
            f"First error: {first}",
            f"Task log: {getattr(ti, 'log_url', None) or '(see the Airflow UI)'}",
        ])
    lines = [
        f"The carbon-intensity assessment run {run_id} {verdict} at stage {stage!r}.",
        "Nothing was published: the warehouse keeps its current release.",
        "",
        f"First error: {first}",
        f"Report: {report}" if report else "Report: none (see the task log)",
        f"Task log: {getattr(ti, 'log_url', None) or '(see the Airflow UI)'}",
        "",
        "Fix the input in the landing folder: a new release triggers a new run.",
    ]
    return subject, "\n".join(lines)


class FailureAlert(BaseNotifier):
    """E-mails `alert_text` through the configured Airflow SMTP connection, if any."""

    template_fields = ()

    def __init__(self, project_root: str) -> None:
        super().__init__()
        self.project_root = project_root

    def notify(self, context: dict[str, Any]) -> None:
        root = Path(self.project_root)
        params = context.get("params") or {}
        conn_id = settings.resolve("alert_conn_id", params, root)
        to = settings.resolve("alert_to", params, root)
        if not conn_id or not to:
            log.info("failure alert not sent: alerts are off (set %s and %s)",
                     settings.SETTINGS["alert_conn_id"].env, settings.SETTINGS["alert_to"].env)
            return
        from airflow.providers.smtp.notifications.smtp import SmtpNotifier
        from airflow.sdk import BaseHook

        subject, body = alert_text(context)
        recipients = [r.strip() for r in to.split(",") if r.strip()]
        try:
            sender = BaseHook.get_connection(conn_id).extra_dejson.get("from_email")
            SmtpNotifier(
                to=recipients,
                subject=subject,
                html_content=f"<pre>{html.escape(body)}</pre>",
                smtp_conn_id=conn_id,
                from_email=sender or DEFAULT_SENDER,
            ).notify(context)
        except Exception as exc:  # never hide the task's own failure
            log.warning("failure alert to %s through connection %s not sent: %s",
                        ", ".join(recipients), conn_id, one_line_error(exc))
            return
        log.info("failure alert sent to %s: %s", ", ".join(recipients), subject)
