"""The id of the request being served, so every audit event of one request can be grouped."""

from __future__ import annotations

from contextvars import ContextVar

current_request_id: ContextVar[str] = ContextVar("openinfusion_request_id", default="")
