"""The error responses the sandbox answers (API errors) and their wire shape.

The live API answers errors with ``CommonExtendedBadRequest``:
``{ErrorCode, DeveloperErrorMessage, ErrorId (a fresh uuid per response), Errors[...]}``.
401/403 bodies carry an exception-prefixed message and no ``Errors`` key at all
(docs/API_FACTS.md#error-bodies); 429 bodies carry ErrorCode 4010 and "Try again in N seconds.".
"""

from __future__ import annotations

import uuid
from typing import Any

import msgspec

# Error codes from developer.vismaonline.com/docs/error-codes (see docs/API_FACTS.md#error-codes).
DATA_MODEL_VALIDATION = 2000
RESOURCE_NOT_FOUND = 3000
FISCAL_YEAR_DOES_NOT_EXIST = 3001
CONFLICT = 4000
NOT_AUTHORIZED = 4005
NO_ACCESS_TO_SCOPES = 4006
RATE_LIMITED = 4010
FORBIDDEN = 4011
QUERY_PARAMETER_ERROR = 6000
QUERY_DATETIME_ERROR = 6001

_encoder = msgspec.json.Encoder()


class ApiError(Exception):
    """An error the sandbox answers with; the HTTP layer renders it with :func:`render`.

    ``errors`` items are ``{"Field", "ErrorCode" (a string), "Message", "Key"}`` as in the
    spec's ``CommonError``. ``errors=None`` omits the ``Errors`` key (401/403/429 shape).
    """

    def __init__(
        self,
        status: int,
        error_code: int,
        message: str,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error_code = error_code
        self.message = message
        self.errors = errors
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "ErrorCode": self.error_code,
            "DeveloperErrorMessage": self.message,
            "ErrorId": str(uuid.uuid4()),
        }
        if self.errors is not None:
            out["Errors"] = self.errors
        return out


def field_error(field: str, code: str | int, message: str, key: str | None = None) -> dict[str, Any]:
    """One ``CommonError`` entry (``ErrorCode`` is a string in the spec)."""
    return {"Field": field, "ErrorCode": str(code), "Message": message, "Key": key or field}


def render(error: ApiError) -> bytes:
    return _encoder.encode(error.body())


def unauthorized(message: str) -> ApiError:
    return ApiError(401, NOT_AUTHORIZED, f"AuthorizationException - {message}")


def forbidden(message: str, code: int = FORBIDDEN) -> ApiError:
    """403 without ``Errors``; ``code`` 4006 (NoAccessToScopes) or 4011 (no access to the company)."""
    return ApiError(403, code, f"ForbiddenRequestException - {message}")


def not_found(message: str = "The requested resource was not found.") -> ApiError:
    return ApiError(404, RESOURCE_NOT_FOUND, message, errors=[])


def bad_query(message: str, code: int = QUERY_PARAMETER_ERROR) -> ApiError:
    return ApiError(400, code, message, errors=[])
