"""Domain errors shared by every layer.

Pure Python (no Django): the clinical core raises these too. Each error carries a stable
machine-readable ``code`` (the API and CLI print it), a ``message`` written for the pharmacist,
nurse or technician who reads it (what was wrong and what to do), and the HTTP status the API
answers with.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A refusal with a code, a message for people, and the HTTP status that goes with it."""

    status: int = 400
    code: str = "REFUSED"

    def __init__(self, message: str, *, code: str | None = None, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details: dict[str, Any] = details or {}

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            body["details"] = self.details
        return body


class InvalidInput(DomainError):
    """The input cannot be used as given (wrong unit, implausible value, malformed barcode)."""

    status = 422
    code = "INVALID_INPUT"


class NotAllowed(DomainError):
    """The acting user's roles do not allow this action, or separation of duties forbids it."""

    status = 403
    code = "FORBIDDEN"


class NotFound(DomainError):
    """No such record, or it belongs to a site the user cannot see (existence does not leak)."""

    status = 404
    code = "NOT_FOUND"


class Conflict(DomainError):
    """The record changed or is in a state that does not allow this transition."""

    status = 409
    code = "CONFLICT"


class StaleEdit(Conflict):
    """Optimistic concurrency: someone changed the record since it was read."""

    code = "STALE_EDIT"
