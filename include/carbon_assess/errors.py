"""Errors a user sees. Each one renders as a single line naming file, row, column and rule.

Also the helpers every message to a user or a log goes through: `mask_url` (no password of a
warehouse URL is ever printed), `one_line_error` (a driver error as one masked line) and
`printable` (a file name or cell text escaped, so that it prints on one line, as written).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_REJECTED = 2


class CarbonAssessError(Exception):
    """Base class: anything the CLI prints as `error: ...` without a traceback.

    `report_path` names the report a user should open (quarantine report.md), when there is one.
    """

    exit_code = EXIT_FAILURE
    report_path: str | None = None


@dataclass
class InputError(CarbonAssessError):
    """A landing file breaks the data contract (unknown province, unit, unparseable number...).

    When ingest rejects a batch, the first error is raised with `all_errors` (every file's first
    error), `warning_details` (skipped files and columns) and `report_path` (the quarantine
    report) filled in.
    """

    file: str
    rule: str
    row: int | None = None
    column: str | None = None
    value: str | None = None
    report_path: str | None = field(default=None, compare=False)
    all_errors: list[InputError] = field(default_factory=list, compare=False, repr=False)
    warning_details: list[dict[str, Any]] = field(default_factory=list, compare=False,
                                                  repr=False)

    exit_code = EXIT_REJECTED

    def __str__(self) -> str:
        where = [self.file]
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column {self.column!r}")
        value = f" (value {self.value!r})" if self.value is not None else ""
        return printable(f"{', '.join(where)}: {self.rule}{value}")


class ValidationFailed(CarbonAssessError):
    """The batch failed an error-severity expectation; it was quarantined, nothing published.

    `summary` is the validation summary (status, counts, paths) of the failed run.
    """

    exit_code = EXIT_REJECTED

    def __init__(self, message: str, report_path: str | None = None,
                 summary: dict[str, Any] | None = None):
        super().__init__(message)
        self.report_path = report_path
        self.summary: dict[str, Any] = summary or {}


class WarehouseError(CarbonAssessError):
    """The warehouse URL or the warehouse itself is not usable."""


def is_rejection(exc: BaseException) -> bool:
    """Bad input or a failed gate (exit code 2: fix the input), as opposed to a failure."""
    return isinstance(exc, CarbonAssessError) and exc.exit_code == EXIT_REJECTED


def printable(text: str) -> str:
    """`text` with every character that does not print as itself escaped as Python's repr does
    (`\\n`, `\\t`, `\\x1b`, `\\u200b`, `\\xa0`), and each byte of a file name that is not
    UTF-8 (a lone surrogate after the file system's decoding) as `\\xNN`: a name can never forge
    a line of output, hide a character that makes it differ from another, or fail to encode."""
    if text.isprintable():
        return text
    return "".join(
        ch if ch.isprintable()
        else f"\\x{ord(ch) - 0xDC00:02x}" if "\udc80" <= ch <= "\udcff"
        else repr(ch)[1:-1]
        for ch in text)


def mask_url(url: str) -> str:
    """The URL with its password replaced by ***, wherever it is: `user:pw@host` and
    `?password=pw` / `&password=pw` in the query string."""
    url = re.sub(r"^([a-z][a-z0-9+.-]*://[^:/@]*):[^/]*@", r"\1:***@", url, flags=re.I)
    return re.sub(r"([?&]password=)[^&]*", r"\1***", url, flags=re.I)


def url_password(url: str) -> str:
    """The password of a libpq URL or conninfo string ('' if none or unparsable)."""
    try:
        from psycopg.conninfo import conninfo_to_dict

        return str(conninfo_to_dict(url).get("password") or "")
    except Exception:  # psycopg missing or an unparsable URL: fall back to the URL syntax
        try:
            return unquote(urlsplit(url).password or "")
        except ValueError:
            return ""


def one_line_error(exc: BaseException, url: str = "") -> str:
    """A driver error as one line for the user: URLs masked, `url`'s password removed."""
    text = " ".join(line.strip() for line in str(exc).splitlines() if line.strip())
    text = mask_url(text or type(exc).__name__)
    password = url_password(url) if url else ""
    if password:
        text = text.replace(password, "***")
    return text[:400]
