"""``ccenter api``: the authenticated HTTP API (docs/integration.md), and its tokens.

``ccenter api --listen HOST:PORT`` serves the API (OpenAPI at ``/openapi.json``) and, when a
connector to the order system is configured (``[connectors.<name>]``), delivers the outbox to it
and brings status back, every ``poll_s``. ``ccenter api token add NAME --scope S ...`` issues a
system's token (printed once; only its hash is stored); ``ccenter api token revoke NAME``.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING

from ..cli import settings_from
from ..config import Settings

if TYPE_CHECKING:
    from connectors.boss import OrderSystem

SCOPES = ("status:write", "backoffice:write", "campaigns:write", "campaigns:read", "communications:write")


def _listen(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(f"{text!r} is not HOST:PORT (such as 127.0.0.1:8080)")
    return host.strip("[]") or "127.0.0.1", int(port)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser(
        "api", parents=[common],
        help="the HTTP API for the order system, BI, billing and the production desktops",
        description="Serves the API (OpenAPI description at /openapi.json); with a [connectors.NAME] table in "
                    "the configuration it also delivers orders and service requests to the order system and "
                    "brings their status back.",
    )
    parser.add_argument("--listen", type=_listen, default=("127.0.0.1", 8080), metavar="HOST:PORT",
                        help="where to listen (default: 127.0.0.1:8080)")
    parser.set_defaults(func=run_api)
    actions = parser.add_subparsers(dest="api_command", metavar="ACTION")
    token = actions.add_parser("token", help="tokens of external systems")
    token_actions = token.add_subparsers(dest="token_command", metavar="ACTION", required=True)
    add = token_actions.add_parser("add", parents=[common], help="issue a token for a system (printed once)")
    add.add_argument("name", help="the system's name, such as boss or bi")
    add.add_argument("--scope", action="append", choices=SCOPES, required=True,
                     help="what it may do (repeat for more than one)")
    add.set_defaults(func=run_token_add)
    revoke = token_actions.add_parser("revoke", parents=[common], help="revoke every token of a system")
    revoke.add_argument("name")
    revoke.set_defaults(func=run_token_revoke)


def run_token_add(args: argparse.Namespace) -> int:
    from crm import db
    from crm.repository import tokens

    engine = db.open_current(settings_from(args).db_url)
    try:
        with db.transaction(db.session_factory(engine)) as session:
            token = tokens.issue_system_token(session, args.name, args.scope)
    finally:
        engine.dispose()
    print(token)
    print(f"token for {args.name} ({', '.join(sorted(set(args.scope)))}): shown once, keep it safe", file=sys.stderr)
    return 0


def run_token_revoke(args: argparse.Namespace) -> int:
    from crm import db
    from crm.repository import tokens

    engine = db.open_current(settings_from(args).db_url)
    try:
        with db.transaction(db.session_factory(engine)) as session:
            count = tokens.revoke_tokens(session, args.name)
    finally:
        engine.dispose()
    print(f"{count} token(s) of {args.name} revoked", file=sys.stderr)
    return 0 if count else 1


def order_system(settings: Settings) -> OrderSystem | None:
    """The configured connector to the order system of record, or None."""
    from connectors.boss import OrderSystem
    from connectors.config import parse_connectors
    from connectors.errors import ConnectorConfigError

    from ..config import ConfigError

    origin = str(settings.config_file or "configuration")
    try:
        configs = parse_connectors(settings.connectors or {}, origin)
    except ConnectorConfigError as exc:
        raise ConfigError(str(exc)) from None
    if not configs:
        return None
    name = settings.system_of_record or (next(iter(configs)) if len(configs) == 1 else None)
    if name is None or name not in configs:
        raise ConfigError(f"{origin}: api.system_of_record must name one of the connectors "
                          f"({', '.join(configs)})")
    return OrderSystem(configs[name])


def run_api(args: argparse.Namespace) -> int:
    if getattr(args, "api_command", None) is not None:
        return 2
    settings = settings_from(args)
    import threading

    try:
        import uvicorn

        from api.app import create_app
    except ModuleNotFoundError as exc:
        print(f"ccenter: error: `ccenter api` needs the api extra ({exc.name} is missing): "
              "pip install 'ccenter[api]'", file=sys.stderr)
        return 1
    from connectors.outbox import Relay
    from crm import db, workflows

    workflows.shipped()  # a broken workflow file is one clear error now, not a failed order later
    engine = db.open_current(settings.db_url)
    factory = db.session_factory(engine)
    system = order_system(settings)

    import socket

    from connectors.escalation import Escalator
    from connectors.notices import Notices

    name = f"api-{socket.gethostname()}-{os.getpid()}"
    # Workflow changes (status reports, moves, escalations) go to the agents' desktops over the bus
    # (as svc-api); with the in-process bus there is nobody in another process to tell.
    notices = (Notices.from_url(settings.mqtt_url, site=settings.site, client_id=name)
               if not settings.mqtt_url.startswith("inproc:") else None)
    app = create_app(factory, region=settings.default_region, orders=system, site=settings.site,
                     changed=notices.changed if notices is not None else None)
    stop = threading.Event()
    threads = []
    if system is not None:
        relay = Relay(factory, system, notify=notices.changed if notices is not None else None)
        threads.append(threading.Thread(target=relay.run, args=(stop,), name="outbox-relay", daemon=True))
    # Time limits that pass are acted on here, once across every `ccenter api` (a claim row per limit).
    escalator = Escalator(factory, name=name, notify=notices.changed if notices is not None else None)
    threads.append(threading.Thread(target=escalator.run, args=(stop,), name="escalator", daemon=True))
    for thread in threads:
        thread.start()
    host, port = args.listen
    print(f"ccenter api on http://{host}:{port} (OpenAPI at /openapi.json)", file=sys.stderr, flush=True)
    try:
        uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=10)
        if notices is not None:
            notices.close()
        if system is not None:
            system.close()
        engine.dispose()
    return 0
