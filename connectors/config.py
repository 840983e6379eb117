"""A connector's configuration: where the back end is, how patient to be, and how fields are named there.

From the ``[connectors.<name>]`` tables of the configuration file (TOML)::

    [connectors.boss]
    url = "https://boss.example.com/api/v2"
    token = "..."                  # sent as "Authorization: Bearer ..."
    timeout_s = 5
    retries = 3
    backoff_s = 0.2
    breaker_threshold = 5
    breaker_cool_down_s = 30
    poll_s = 30                    # how often to ask for the status of what is in progress

    [connectors.boss.paths]        # defaults shown
    create_order = "/orders"
    order_status = "/orders/{ref}"
    create_service_request = "/service-requests"
    service_request_status = "/service-requests/{ref}"
    bill = "/accounts/{account_number}/bill"
    products = "/accounts/{account_number}/products"

    [connectors.boss.fields.order]             # our name = the back end's (dots make nested objects)
    id = "externalId"
    product = "offer.code"
    account_number = "customer.account"

    [connectors.boss.fields.order_status]      # the back end's answer: our name = theirs
    reference = "orderId"
    state = "status"

    [connectors.boss.states]                   # the back end's state = our workflow state
    CREDIT_CHECK = "credit_check"

A section without ``fields.<kind>`` sends and reads our own names.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import ConnectorConfigError

DEFAULT_PATHS = {
    "create_order": "/orders",
    "order_status": "/orders/{ref}",
    "create_service_request": "/service-requests",
    "service_request_status": "/service-requests/{ref}",
    "bill": "/accounts/{account_number}/bill",
    "products": "/accounts/{account_number}/products",
}
FIELD_KINDS = ("order", "service_request", "order_status", "service_request_status", "bill", "product")
_KEYS = {"url", "token", "timeout_s", "retries", "backoff_s", "breaker_threshold", "breaker_cool_down_s", "poll_s",
         "paths", "fields", "states"}


@dataclass(frozen=True, slots=True)
class ConnectorConfig:
    name: str
    url: str
    token: str | None = None
    timeout_s: float = 5.0
    retries: int = 3
    backoff_s: float = 0.2
    breaker_threshold: int = 5
    breaker_cool_down_s: float = 30.0
    poll_s: float = 30.0
    paths: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_PATHS))
    fields: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    states: Mapping[str, str] = field(default_factory=dict)


def _number(table: Mapping[str, Any], key: str, where: str, default: float, *, integer: bool = False,
            minimum: float = 0.0) -> Any:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or (integer and not isinstance(value, int)):
        raise ConnectorConfigError(f"{where}.{key}: expected {'a whole number' if integer else 'a number'}")
    if value < minimum:
        raise ConnectorConfigError(f"{where}.{key}: must be at least {minimum:g}")
    return value


def _names(table: object, where: str) -> dict[str, str]:
    if not isinstance(table, Mapping):
        raise ConnectorConfigError(f"{where}: expected a table")
    out = {}
    for key, value in table.items():
        if not isinstance(value, str) or not value.strip():
            raise ConnectorConfigError(f"{where}.{key}: expected a name")
        out[str(key)] = value.strip()
    return out


def parse_connector(name: str, table: object, origin: str = "configuration") -> ConnectorConfig:
    where = f"{origin}: connectors.{name}"
    if not isinstance(table, Mapping):
        raise ConnectorConfigError(f"{where}: expected a table")
    for key in table:
        if key not in _KEYS:
            raise ConnectorConfigError(f"{where}.{key}: unknown key (known: {', '.join(sorted(_KEYS))})")
    url = table.get("url")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise ConnectorConfigError(f"{where}.url: expected an http:// or https:// URL")
    token = table.get("token")
    if token is not None and (not isinstance(token, str) or "\n" in token or "\r" in token):
        raise ConnectorConfigError(f"{where}.token: expected a one-line string")
    paths = dict(DEFAULT_PATHS)
    for key, value in _names(table.get("paths", {}), f"{where}.paths").items():
        if key not in DEFAULT_PATHS:
            raise ConnectorConfigError(f"{where}.paths.{key}: unknown (known: {', '.join(DEFAULT_PATHS)})")
        if not value.startswith("/"):
            raise ConnectorConfigError(f"{where}.paths.{key}: must start with /")
        paths[key] = value
    fields_table = table.get("fields", {})
    if not isinstance(fields_table, Mapping):
        raise ConnectorConfigError(f"{where}.fields: expected a table")
    fields = {}
    for kind, mapping in fields_table.items():
        if kind not in FIELD_KINDS:
            raise ConnectorConfigError(f"{where}.fields.{kind}: unknown (known: {', '.join(FIELD_KINDS)})")
        fields[str(kind)] = _names(mapping, f"{where}.fields.{kind}")
    return ConnectorConfig(
        name=name, url=url.rstrip("/"), token=token,
        timeout_s=float(_number(table, "timeout_s", where, 5.0, minimum=0.01)),
        retries=int(_number(table, "retries", where, 3, integer=True)),
        backoff_s=float(_number(table, "backoff_s", where, 0.2)),
        breaker_threshold=int(_number(table, "breaker_threshold", where, 5, integer=True, minimum=1)),
        breaker_cool_down_s=float(_number(table, "breaker_cool_down_s", where, 30.0)),
        poll_s=float(_number(table, "poll_s", where, 30.0, minimum=0.01)),
        paths=paths, fields=fields, states=_names(table.get("states", {}), f"{where}.states"),
    )


def parse_connectors(tables: object, origin: str = "configuration") -> dict[str, ConnectorConfig]:
    if not tables:
        return {}
    if not isinstance(tables, Mapping):
        raise ConnectorConfigError(f"{origin}: [connectors] must be a table of connector tables")
    return {str(name): parse_connector(str(name), table, origin) for name, table in tables.items()}


def map_out(payload: Mapping[str, Any], mapping: Mapping[str, str] | None) -> dict[str, Any]:
    """Our field names to the back end's (a dotted name makes nested objects); unmapped fields stay out."""
    if not mapping:
        return dict(payload)
    out: dict[str, Any] = {}
    for ours, theirs in mapping.items():
        if ours not in payload:
            continue
        *parents, leaf = theirs.split(".")
        target = out
        for part in parents:
            target = target.setdefault(part, {})
        target[leaf] = payload[ours]
    return out


def map_in(body: Any, mapping: Mapping[str, str] | None) -> dict[str, Any]:
    """The back end's answer to our names (``mapping`` is ours → theirs, dotted for nested values)."""
    if not isinstance(body, Mapping):
        return {}
    if not mapping:
        return dict(body)
    out: dict[str, Any] = {}
    for ours, theirs in mapping.items():
        value: Any = body
        for part in theirs.split("."):
            value = value.get(part) if isinstance(value, Mapping) else None
        if value is not None:
            out[ours] = value
    return out
