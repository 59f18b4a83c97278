"""Domain errors a view turns into a message next to the field."""

from __future__ import annotations


class DomainError(Exception):
    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class ValidationError(DomainError):
    """The input breaks a rule."""


class Conflict(DomainError):
    """The input clashes with what is stored (a duplicate, a stale edit)."""


class NotAllowed(DomainError):
    """The person may not do this."""
