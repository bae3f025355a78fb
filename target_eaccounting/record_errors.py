"""Named exceptions of the target.

A :class:`RecordError` is a per-record failure: the record goes to the reject file (or, in a dry run,
into the plan as ``reject``) and the run goes on. Everything else stops the run.
"""

from __future__ import annotations

from typing import Any


class TargetError(Exception):
    """Base class of the target's own exceptions."""


class UnknownStreamError(TargetError):
    """A SCHEMA message names a stream this target cannot write (raised before any record is read)."""


class TooManyFailedRecordsError(TargetError):
    """More records were rejected than ``max_failed_records`` allows (raised after everything is flushed)."""


class Undecidable(TargetError):
    """A lookup cannot tell whether an ambiguous write took effect."""


class RecordError(TargetError):
    """One record cannot be written.

    ``reason`` is a short machine-readable code (``invalid_record``, ``reference_not_found``,
    ``fiscal_year``, ``unbalanced_voucher``, ``api_error``, ``outcome_unknown``, ...). ``field`` names the
    offending field (dotted path, e.g. ``Rows[1].DebitAmount``) when there is one. ``api`` carries the
    API's error body fields (``http_status``, ``ErrorId``, ``ErrorCode``, ``DeveloperErrorMessage``,
    ``Errors``) for failures that came from the API.
    """

    def __init__(
        self,
        reason: str,
        message: str,
        *,
        field: str | None = None,
        api: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.field = field
        self.api = api or {}

    def __str__(self) -> str:
        where = f" (field {self.field})" if self.field else ""
        return f"{self.reason}: {self.message}{where}"
