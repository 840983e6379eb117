"""Errors of the connectors. Messages are for the person reading the log or the desktop's status line."""

from __future__ import annotations


class ConnectorError(Exception):
    """Root of the connectors' errors."""


class ConnectorConfigError(ConnectorError):
    """A connector's configuration that cannot be used (the message names the key)."""


class BackendUnavailable(ConnectorError):
    """The back end did not answer, answered 5xx or 429, or its breaker is open: try again later."""


class BackendRefused(ConnectorError):
    """The back end answered no (4xx): trying the same request again will not help."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"refused ({status}): {message}")
        self.status = status
