"""External REST look-ups (``lookup`` nodes with ``by: rest``), over requests with a timeout.

The engine asks for them with :class:`~ivr.engine.GetJson`; drivers answer through a
:class:`RestClient` (see :mod:`ivr.ports`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Protocol

import requests

from .errors import LookupUnavailable

logger = logging.getLogger(__name__)


class RestClient(Protocol):
    def get_json(self, url: str, timeout_s: float) -> Mapping[str, Any] | None:
        """The JSON object at ``url``; None when the server says 404 (nothing found).

        Raises LookupUnavailable on timeouts, connection errors, other error statuses and bodies
        that are not a JSON object.
        """
        ...


class HttpRestClient:
    """:class:`RestClient` over a requests session (connection reuse, no redirects to other hosts)."""

    def __init__(self, session: requests.Session | None = None) -> None:
        self._session = session or requests.Session()

    def close(self) -> None:
        self._session.close()

    def get_json(self, url: str, timeout_s: float) -> Mapping[str, Any] | None:
        try:
            response = self._session.get(url, timeout=timeout_s, headers={"Accept": "application/json"})
        except requests.Timeout:
            raise LookupUnavailable(f"REST look-up timed out after {timeout_s:g} s") from None
        except requests.RequestException as exc:
            raise LookupUnavailable(f"REST look-up failed: {type(exc).__name__}") from None
        with response:
            if response.status_code == 404:
                return None
            if not response.ok:
                raise LookupUnavailable(f"REST look-up answered HTTP {response.status_code}")
            try:
                body = response.json()
            except ValueError:
                raise LookupUnavailable("REST look-up did not answer JSON") from None
        if not isinstance(body, Mapping):
            raise LookupUnavailable("REST look-up did not answer a JSON object")
        return body
