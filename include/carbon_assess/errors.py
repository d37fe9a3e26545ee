"""Errors a user sees. Each one renders as a single line naming file, row, column and rule."""

from __future__ import annotations

from dataclasses import dataclass

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_REJECTED = 2


class CarbonAssessError(Exception):
    """Base class: anything the CLI prints as `error: ...` without a traceback."""

    exit_code = EXIT_FAILURE


@dataclass
class InputError(CarbonAssessError):
    """A landing file breaks the data contract (unknown province, unit, unparseable number...)."""

    file: str
    rule: str
    row: int | None = None
    column: str | None = None
    value: str | None = None

    exit_code = EXIT_REJECTED

    def __str__(self) -> str:
        where = [self.file]
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column {self.column!r}")
        value = f" (value {self.value!r})" if self.value is not None else ""
        return f"{', '.join(where)}: {self.rule}{value}"


class ValidationFailed(CarbonAssessError):
    """The batch failed an error-severity expectation; it was quarantined, nothing published."""

    exit_code = EXIT_REJECTED

    def __init__(self, message: str, report_path: str | None = None):
        super().__init__(message)
        self.report_path = report_path


class WarehouseError(CarbonAssessError):
    """The warehouse URL or the warehouse itself is not usable."""
