"""The failure alert: a real SMTP server on 127.0.0.1 receives what an operator needs (stage, run,
first error naming file/row/column/rule, the report), through an Airflow SMTP connection."""

from __future__ import annotations

import socket
from email import message_from_bytes
from types import SimpleNamespace

import pytest

from carbon_assess.errors import ValidationFailed
from carbon_assess.orchestration.alerts import FailureAlert, alert_text

pytestmark = pytest.mark.airflow

FIRST_ERROR = ("validate failed: 1 error(s) in gdp (e.g. gdp.csv row 7 column '地区生产总值(亿元)' "
               "value '-5': must be > 0); report: /srv/carbon/quarantine/run-1/report.md")


def _context(exc: BaseException) -> dict:
    ti = SimpleNamespace(task_id="validate", run_id="manual__2026-12-06",
                         log_url="http://airflow/log")
    return {"ti": ti, "dag_run": SimpleNamespace(run_id="manual__2026-12-06"),
            "exception": exc, "params": {}}


@pytest.fixture
def smtp_server():
    from aiosmtpd.controller import Controller

    class Inbox:
        def __init__(self) -> None:
            self.messages: list = []

        async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd API)
            self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content)))
            return "250 OK"

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, inbox
    finally:
        controller.stop()


def _body(message) -> str:
    part = next(p for p in message.walk() if p.get_content_type() == "text/html")
    return part.get_payload(decode=True).decode(part.get_content_charset() or "utf-8")


def test_a_rejected_run_is_mailed_with_its_first_error_and_report(smtp_server, monkeypatch):
    port, inbox = smtp_server
    monkeypatch.setenv("AIRFLOW_CONN_CARBON_SMTP_TEST", f"smtp://127.0.0.1:{port}?"
                       "disable_tls=true&disable_ssl=true&from_email=alerts%40example.org")
    monkeypatch.setenv("CARBON_ALERT_CONN_ID", "carbon_smtp_test")
    monkeypatch.setenv("CARBON_ALERT_TO", "ops@example.org, data@example.org")
    exc = ValidationFailed(FIRST_ERROR, "/srv/carbon/quarantine/run-1/report.md")

    FailureAlert("/repo").notify(_context(exc))

    [(recipients, message)] = inbox.messages
    assert recipients == ["ops@example.org", "data@example.org"]
    assert message["Subject"] == "[carbon-assess] run manual__2026-12-06 rejected at validate"
    body = _body(message)
    assert "gdp.csv row 7 column &#x27;地区生产总值(亿元)&#x27;" in body
    assert "Report: /srv/carbon/quarantine/run-1/report.md" in body
    assert "Nothing was published" in body


def test_alerts_are_off_until_a_connection_and_recipients_are_set(smtp_server, monkeypatch,
                                                                  caplog):
    port, inbox = smtp_server
    monkeypatch.delenv("CARBON_ALERT_CONN_ID", raising=False)
    monkeypatch.setenv("CARBON_ALERT_TO", "ops@example.org")
    FailureAlert("/repo").notify(_context(RuntimeError("disk full")))
    assert inbox.messages == []
    assert "alerts are off" in caplog.text


def test_an_unreachable_mail_server_never_hides_the_failure(monkeypatch, caplog):
    monkeypatch.setenv("AIRFLOW_CONN_CARBON_SMTP_DOWN", "smtp://127.0.0.1:1?disable_tls=true"
                       "&disable_ssl=true&timeout=2&retry_limit=0")
    monkeypatch.setenv("CARBON_ALERT_CONN_ID", "carbon_smtp_down")
    monkeypatch.setenv("CARBON_ALERT_TO", "ops@example.org")
    FailureAlert("/repo").notify(_context(RuntimeError("disk full")))  # does not raise
    assert "not sent" in caplog.text


def test_a_failure_other_than_a_rejection_says_failed_and_its_type():
    subject, body = alert_text(_context(RuntimeError("disk full")))
    assert subject.endswith("failed at validate")
    assert "First error: RuntimeError: disk full" in body
    assert "Report: none" in body
