"""The HTTP API (FastAPI): back-end status reports, BI campaign plans and results, communications,
and the agent desktop's data in production.

Every route needs a bearer token (``Authorization: Bearer ...``) with the route's scope:

* ``status:write`` — the order system reports where an order or a service request is;
* ``backoffice:write`` — back-office tools move workflows as the back office (named staff), and
  list what is overdue;
* ``campaigns:write`` / ``campaigns:read`` — BI drops plans and target lists, lists campaigns and
  fetches results (the same CSV as ``ccenter campaign export``, streamed);
* ``communications:write`` — billing and messaging systems post bills, statements, SMS, e-mails and
  letters, and read back only what they posted themselves;
* ``desk`` — an agent's desktop, with the token it got at log-in with the agent's own password:
  customer look-up, the 360 view, contacts and wrap-up, orders and service requests and their
  workflows, scoped to what that agent may see (:func:`agent_may_see`).

The OpenAPI description is at ``/openapi.json``. Domain errors become 4xx answers (404 not found,
409 a workflow move not allowed, 422 a bad value), a database away 503; nothing a client sends
makes a 500.
"""


import io
import logging
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import Body, Depends, FastAPI, HTTPException, Path, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field

from bus.messages import WorkflowChanged
from connectors.boss import OrderSystem
from connectors.errors import BackendRefused, ConnectorError
from crm import db, repository
from crm.campaigns.importing import import_plan, import_targets
from crm.campaigns.reading import CampaignFileError
from crm.campaigns.results import export_results, list_campaigns
from crm.errors import CrmError, DatabaseUnavailable, InvalidData, InvalidPhoneNumber, NotFound
from crm.models import Tier
from crm.repository import communications as comms
from crm.repository import tokens
from crm.repository.tokens import TokenOwner
from crm.workflows import Actor, Subject, TransitionRefused

logger = logging.getLogger(__name__)

Id = Annotated[int, Path(ge=1, le=2**31 - 1)]
ID_MAX = 2**31 - 1
MAX_SEARCH = 50
TOKEN_TTL_S = 5.0

bearer = HTTPBearer(auto_error=False, description="A system's token, or an agent's from POST /v1/auth/login")


# --- bodies ------------------------------------------------------------------------------------


class LoginIn(BaseModel):
    login: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=200)


class LoginOut(BaseModel):
    token: str
    agent: dict[str, Any]


class StatusIn(BaseModel):
    """Where an order or a service request is now, in the workflow's state names."""

    subject: Subject
    id: int | None = Field(default=None, ge=1, le=ID_MAX, description="our id (the externalId we sent)")
    reference: str | None = Field(default=None, min_length=1, max_length=64, description="the back end's own")
    state: str = Field(min_length=1, max_length=32)
    fields: dict[str, str | int | float | bool | None] = Field(default_factory=dict)


class MoveIn(BaseModel):
    transition: str = Field(min_length=1, max_length=32)
    fields: dict[str, str | int | float | bool | None] = Field(default_factory=dict)


class BackOfficeMoveIn(MoveIn):
    by: str = Field(min_length=1, max_length=40, description="the back-office person taking the step")


class BillLineIn(BaseModel):
    label: str = Field(min_length=1, max_length=200)
    amount: Decimal = Field(max_digits=12, decimal_places=2)


class CommunicationIn(BaseModel):
    customer_id: int | None = Field(default=None, ge=1, le=ID_MAX)
    account_number: str | None = Field(default=None, min_length=1, max_length=32)
    phone: str | None = Field(default=None, min_length=1, max_length=32)
    kind: Literal["bill", "statement", "sms", "email", "letter", "notice"]
    channel: str = Field(min_length=1, max_length=32)
    subject: str = Field(min_length=1, max_length=200)
    body: str | None = Field(default=None, max_length=20000)
    amount: Decimal | None = Field(default=None, max_digits=12, decimal_places=2)
    currency: str | None = Field(default=None, min_length=3, max_length=3)
    lines: list[BillLineIn] = Field(default_factory=list, max_length=500)
    sent_at: datetime | None = None
    external_ref: str | None = Field(default=None, min_length=1, max_length=128)


class FeedbackIn(BaseModel):
    contact_id: int = Field(ge=1, le=ID_MAX)


class NewCustomerIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    phone: str | None = Field(default=None, max_length=32)


class PreviewSkipIn(BaseModel):
    reason: str = Field(min_length=1, max_length=64)


class PreviewScheduleIn(BaseModel):
    at: datetime


class DialAttemptIn(BaseModel):
    result: str = Field(min_length=1, max_length=32)
    call_id: str = Field(min_length=1, max_length=128)


# --- the app -----------------------------------------------------------------------------------


def _status_code(exc: CrmError) -> int:
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, TransitionRefused):
        return 409
    if isinstance(exc, InvalidData | InvalidPhoneNumber | CampaignFileError):
        return 422
    if isinstance(exc, DatabaseUnavailable):
        return 503
    return 400


def _aware(moment: datetime | None, what: str) -> None:
    if moment is not None and moment.tzinfo is None:
        raise InvalidData(f"{what} needs a time zone (an offset or Z)")


def agent_may_see(owner: TokenOwner, tier: Tier) -> bool:
    """An agent sees VIP customers only with the ``vip`` skill; supervisors and admins see everyone."""
    if owner.agent_role in ("supervisor", "admin"):
        return True
    return tier is not Tier.VIP or "vip" in owner.agent_skills


def create_app(sessions: db.SessionFactory, *, region: str = "US", orders: OrderSystem | None = None,
               site: str = "main", changed: Callable[[WorkflowChanged, str | None], object] | None = None) -> FastAPI:
    """The API over a session factory; ``orders`` (the order system's connector) answers live bills;
    ``changed`` is told each workflow change (a status report, a back-office or agent's move) with the login of
    the agent who took the item (``connectors.notices.Notices.changed`` puts it on the bus)."""
    app = FastAPI(title="ccenter API", version="1", description=__doc__)

    @app.exception_handler(CrmError)
    async def _crm_error(_request: Request, exc: CrmError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=_status_code(exc))

    @contextmanager
    def read() -> Iterator[db.Session]:
        with db.answering(), db.refusing_bad_values(), sessions() as session:
            yield session

    @contextmanager
    def read_each() -> Iterator[db.Session]:
        """A read whose statements need no common snapshot: under READ COMMITTED (PostgreSQL's default, which
        ccenter keeps) each statement sees what is committed when it starts, in a transaction or not, so none
        is opened. On PostgreSQL that spares a screen pop's two requests a BEGIN and a ROLLBACK round trip
        each; the connection goes back to the pool with its transactions as before."""
        with read() as session:
            session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
            yield session

    @contextmanager
    def write() -> Iterator[db.Session]:
        with db.answering(), db.refusing_bad_values(), db.transaction(sessions) as session:
            yield session

    # Known tokens for a few seconds (a screen pop makes two calls): a revoked token stops within TOKEN_TTL_S.
    known: dict[str, tuple[float, TokenOwner]] = {}

    def owner_of(token: str) -> TokenOwner | None:
        now = time.monotonic()
        hit = known.get(token)
        if hit is not None and now - hit[0] < TOKEN_TTL_S:
            return hit[1]
        with read() as session:
            owner = tokens.resolve_token(session, token)
        if owner is not None:
            if len(known) > 10_000:
                known.clear()
            known[token] = (now, owner)
        else:
            known.pop(token, None)
        return owner

    def scoped(scope: str) -> Callable[..., TokenOwner]:
        def check(credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> TokenOwner:
            if credentials is None or credentials.scheme.lower() != "bearer":
                raise HTTPException(401, "a bearer token is required", headers={"WWW-Authenticate": "Bearer"})
            owner = owner_of(credentials.credentials)
            if owner is None:
                raise HTTPException(401, "unknown, revoked or expired token", headers={"WWW-Authenticate": "Bearer"})
            if scope not in owner.scopes:
                raise HTTPException(403, f"this token may not {scope.replace(':', ' ')}")
            return owner
        return check

    Status = Annotated[TokenOwner, Depends(scoped("status:write"))]
    BackOffice = Annotated[TokenOwner, Depends(scoped("backoffice:write"))]
    CampaignsIn = Annotated[TokenOwner, Depends(scoped("campaigns:write"))]
    CampaignsOut = Annotated[TokenOwner, Depends(scoped("campaigns:read"))]
    Comms = Annotated[TokenOwner, Depends(scoped("communications:write"))]
    Desk = Annotated[TokenOwner, Depends(scoped("desk"))]

    # --- log-in ----------------------------------------------------------------------------------

    @app.post("/v1/auth/login", tags=["desk"], response_model=LoginOut,
              responses={401: {"description": "wrong login or password, or locked"}})
    def login(body: LoginIn) -> LoginOut:
        """An agent logs in with their own password and gets a desk token for the shift."""
        with write() as session:
            agent = repository.authenticate_agent(session, body.login, body.password, site=site)
            token = tokens.issue_agent_token(session, agent.id) if agent is not None else None
        if agent is None or token is None:
            raise HTTPException(401, "wrong login or password")
        logger.info("agent %s logged in to the API", agent.login)
        return LoginOut(token=token, agent={"id": agent.id, "login": agent.login, "name": agent.name,
                                            "role": agent.role, "extension": agent.extension,
                                            "skills": agent.skills})

    def tell(status: repository.WorkflowStatus, actor: Actor, actor_name: str, agent: str | None) -> None:
        """After the commit: the agent who took the item (and their supervisors) hear of the change."""
        if changed is None:
            return
        changed(WorkflowChanged(subject=status.subject.value, item_id=status.id, customer_id=status.customer_id,
                                workflow=status.workflow, state=status.state, status=status.status,
                                ts=time.time(), actor=actor.value, actor_name=actor_name), agent)

    # --- the order system ------------------------------------------------------------------------

    @app.post("/v1/status", tags=["order system"])
    def report_status(body: StatusIn, owner: Status) -> dict[str, Any]:
        """The system of record says where an order or a service request is now."""
        with write() as session:
            if body.id is not None:
                item_id = body.id
            elif body.reference is not None:
                item_id = repository.workflows.find_by_external_ref(session, body.subject, body.reference)
            else:
                raise InvalidData("name the item by id or by reference")
            before = repository.workflow_status(session, body.subject, item_id, Actor.SYSTEM).state
            status = repository.report_state(session, body.subject, item_id, body.state, actor_name=owner.name,
                                             fields=repository.workflows.check_fields(body.fields))
            agent = repository.workflows.agent_of(session, body.subject, item_id)
        if status.state != before:
            tell(status, Actor.SYSTEM, owner.name, agent)
        return {"subject": status.subject.value, "id": status.id, "state": status.state, "status": status.status}

    # --- the back office -------------------------------------------------------------------------

    @app.post("/v1/backoffice/{subject}/{item_id}/moves", tags=["back office"])
    def back_office_move(owner: BackOffice, subject: Subject, item_id: Id, body: BackOfficeMoveIn) -> dict[str, Any]:
        """A back-office person (``by``) takes a transition the workflow gives the back office."""
        with write() as session:
            status = repository.move(session, subject, item_id, body.transition, actor=Actor.BACK_OFFICE,
                                     actor_name=f"{owner.name}:{body.by}"[:64],
                                     fields=repository.workflows.check_fields(body.fields))
            agent = repository.workflows.agent_of(session, subject, item_id)
        tell(status, Actor.BACK_OFFICE, f"{owner.name}:{body.by}"[:64], agent)
        return _plain(status)

    @app.get("/v1/backoffice/overdue", tags=["back office"])
    def overdue(owner: BackOffice, limit: Annotated[int, Query(ge=1, le=1000)] = 200) -> list[dict[str, Any]]:
        """Orders and service requests whose state outlived its time limit, with whom to escalate to."""
        with read() as session:
            found = repository.overdue_items(session, limit=limit)
        return [{"subject": subject.value, "id": item_id, "state": e.state, "escalate_to": e.escalate_to,
                 "due_at": e.due_at.isoformat()} for subject, item_id, e in found]

    # --- BI --------------------------------------------------------------------------------------

    @app.post("/v1/campaigns/plans", tags=["BI"])
    def drop_plan(owner: CampaignsIn, plan: Annotated[dict[str, Any], Body()]) -> dict[str, Any]:
        """A campaign plan (the same JSON as a plan file, with its targets inline)."""
        import json

        data = json.dumps(plan, ensure_ascii=False).encode("utf-8")
        with write() as session:
            report = import_plan(session, io.BytesIO(data), region=region, site=site)
        logger.info("%s dropped campaign plan %s", owner.name, ", ".join(report.campaigns))
        return _report(report)

    @app.post("/v1/campaigns/targets", tags=["BI"],
              openapi_extra={"requestBody": {"content": {"text/csv": {"schema": {"type": "string"}}},
                                             "required": True}})
    async def drop_targets(request: Request, owner: CampaignsIn) -> dict[str, Any]:
        """A target list (CSV whose rows carry campaign_id), for campaigns already planned."""
        data = await request.body()
        if len(data) > 200 * 1024 * 1024:
            raise HTTPException(413, "a target list is at most 200 MB")
        return await _run_sync(lambda: _import_targets(data))

    def _import_targets(data: bytes) -> dict[str, Any]:
        with write() as session:
            return _report(import_targets(session, io.BytesIO(data), region=region, site=site))

    @app.get("/v1/campaigns", tags=["BI"])
    def campaigns(owner: CampaignsOut) -> list[dict[str, Any]]:
        with read() as session:
            return [_plain(c) for c in list_campaigns(session, site=site)]

    @app.get("/v1/campaigns/{campaign_id}/results", tags=["BI"], response_class=StreamingResponse,
             responses={200: {"content": {"text/csv": {}}, "description": "the results CSV"}})
    def campaign_results(campaign_id: Annotated[str, Path(min_length=1, max_length=64)], owner: CampaignsOut,
                         attempts: bool = False) -> StreamingResponse:
        """The results file of ``ccenter campaign export`` (``attempts``: one row per attempt), streamed."""
        spool = tempfile.SpooledTemporaryFile(max_size=4 * 1024 * 1024, mode="w+", encoding="utf-8", newline="")  # noqa: SIM115 (closed by the stream)
        try:
            with read() as session:
                export_results(session, campaign_id, spool, site=site, attempts=attempts)
        except BaseException:
            spool.close()
            raise
        spool.seek(0)

        def chunks() -> Iterator[bytes]:
            try:
                while block := spool.read(256 * 1024):
                    yield block.encode("utf-8")
            finally:
                spool.close()

        return StreamingResponse(chunks(), media_type="text/csv; charset=utf-8",
                                 headers={"Content-Disposition": f'attachment; filename="{campaign_id}.csv"'})

    # --- communications --------------------------------------------------------------------------

    @app.post("/v1/communications", tags=["billing and messaging"], status_code=201)
    def post_communication(body: CommunicationIn, owner: Comms) -> dict[str, Any]:
        """A bill, statement, SMS, e-mail or letter sent to a customer: it appears in the agent's view."""
        _aware(body.sent_at, "sent_at")
        with write() as session:
            customer_id = comms.find_customer(session, customer_id=body.customer_id,
                                              account_number=body.account_number, phone=body.phone, region=region)
            posted = comms.post_communication(
                session, source=owner.name, customer_id=customer_id, kind=body.kind, channel=body.channel,
                subject=body.subject, body=body.body, amount=body.amount, currency=body.currency,
                lines=[(line.label, line.amount) for line in body.lines], sent_at=body.sent_at,
                external_ref=body.external_ref)
        return {"id": posted.id, "customer_id": posted.customer_id, "created": posted.created}

    @app.get("/v1/communications/{communication_id}", tags=["billing and messaging"])
    def get_communication(communication_id: Id, owner: Comms) -> dict[str, Any]:
        """One communication this system posted (another system's is not found)."""
        with read() as session:
            return _plain(comms.get_communication(session, communication_id, source=owner.name))

    # --- the desk --------------------------------------------------------------------------------

    def _visible(owner: TokenOwner, rows: list[repository.CustomerSummary]) -> list[repository.CustomerSummary]:
        return [r for r in rows if agent_may_see(owner, r.tier)]

    def _check_customer(session: db.Session, owner: TokenOwner, customer_id: int) -> None:
        tier = repository.customers.customer_tier(session, customer_id)
        if not agent_may_see(owner, tier):
            raise HTTPException(403, f"customer {customer_id} is not for this agent")

    @app.get("/v1/desk/customers", tags=["desk"])
    def search_customers(owner: Desk, q: Annotated[str, Query(min_length=1, max_length=100)]) -> list[Any]:
        with read() as session:
            return [_plain(r) for r in _visible(owner, repository.search_customers(session, q, region)[:MAX_SEARCH])]

    @app.get("/v1/desk/customers/by-phone/{number}", tags=["desk"])
    def by_phone(owner: Desk, number: Annotated[str, Path(min_length=1, max_length=32)]) -> list[Any]:
        with read_each() as session:
            return [_plain(r) for r in _visible(owner, repository.find_customers_by_phone(session, number, region))]

    @app.get("/v1/desk/customers/{customer_id}", tags=["desk"])
    def customer(owner: Desk, customer_id: Id) -> dict[str, Any]:
        """The 360 view."""
        with read_each() as session:
            view = repository.customer_360(session, customer_id)
        if not agent_may_see(owner, view.profile.tier):
            raise HTTPException(403, f"customer {customer_id} is not for this agent")
        return _plain(view)

    @app.get("/v1/desk/customers/{customer_id}/bill", tags=["desk"])
    def live_bill(owner: Desk, customer_id: Id) -> dict[str, Any]:
        """The live bill and balance of the customer's first account, from billing."""
        with read() as session:
            _check_customer(session, owner, customer_id)
            account = repository.customers.first_account(session, customer_id)
        if orders is None:
            raise HTTPException(501, "no billing system is configured")
        try:
            return dict(_plain(orders.bill(account)))
        except BackendRefused as exc:
            raise HTTPException(404, f"billing has no bill for account {account}: {exc}") from None
        except ConnectorError as exc:
            raise HTTPException(503, f"billing does not answer now: {exc}") from None

    @app.get("/v1/desk/customers/{customer_id}/products", tags=["desk"])
    def live_products(owner: Desk, customer_id: Id) -> list[dict[str, Any]]:
        """Every line, plan, device and service the customer's first account holds, from the order system."""
        with read() as session:
            _check_customer(session, owner, customer_id)
            account = repository.customers.first_account(session, customer_id)
        if orders is None:
            raise HTTPException(501, "no order system is configured")
        try:
            return [dict(_plain(p)) for p in orders.products(account)]
        except BackendRefused as exc:
            raise HTTPException(404, f"the order system has nothing for account {account}: {exc}") from None
        except ConnectorError as exc:
            raise HTTPException(503, f"the order system does not answer now: {exc}") from None

    @app.post("/v1/desk/customers", tags=["desk"], status_code=201)
    def new_customer(owner: Desk, body: NewCustomerIn) -> dict[str, int]:
        with write() as session:
            return {"id": repository.create_customer(session, name=body.name, phone=body.phone or None,
                                                     region=region)}

    @app.post("/v1/desk/contacts", tags=["desk"])
    def save_contact(owner: Desk, record: repository.ContactRecord) -> dict[str, Any]:
        """A finished contact with its orders, service requests and offer results, in one transaction.
        Idempotent on ``client_ref``. The contact is the token's agent's, whatever ``agent_id`` says."""
        _aware(record.started_at, "started_at")
        _aware(record.ended_at, "ended_at")
        _aware(record.callback_at, "callback_at")
        with write() as session:
            if record.customer_id is not None:
                _check_customer(session, owner, record.customer_id)
            saved = repository.save_contact(session, replace(record, agent_id=owner.agent_id))
        return _plain(saved)

    @app.get("/v1/desk/{subject}/{item_id}/workflow", tags=["desk"])
    def workflow(owner: Desk, subject: Subject, item_id: Id) -> dict[str, Any]:
        """State, history (who, when) and the steps this agent may take next."""
        with read() as session:
            status = repository.workflow_status(session, subject, item_id, Actor.AGENT)
            _check_customer(session, owner, status.customer_id)
        return _plain(status)

    @app.post("/v1/desk/{subject}/{item_id}/moves", tags=["desk"])
    def move(owner: Desk, subject: Subject, item_id: Id, body: MoveIn) -> dict[str, Any]:
        with write() as session:
            current = repository.workflow_status(session, subject, item_id, Actor.AGENT)
            _check_customer(session, owner, current.customer_id)
            status = repository.move(session, subject, item_id, body.transition, actor=Actor.AGENT,
                                     actor_name=owner.agent_login or owner.name,
                                     fields=repository.workflows.check_fields(body.fields))
            agent = repository.workflows.agent_of(session, subject, item_id)
        tell(status, Actor.AGENT, owner.agent_login or owner.name, agent)  # the agent's other desktops, their team
        return _plain(status)

    @app.post("/v1/desk/communications/{communication_id}/feedback", tags=["desk"])
    def feedback(owner: Desk, communication_id: Id, body: FeedbackIn) -> dict[str, Any]:
        """The customer's contact was about this communication ("this bill is wrong")."""
        with write() as session:
            record = comms.get_communication(session, communication_id)
            _check_customer(session, owner, record.customer_id)
            comms.link_feedback(session, body.contact_id, communication_id)
        return {"contact_id": body.contact_id, "communication_id": communication_id}

    @app.get("/v1/desk/preview", tags=["desk"])
    def next_preview(owner: Desk, skip: Annotated[list[int], Query(max_length=100)] = []) -> Any:  # noqa: B006
        with write() as session:  # the preview's decisions are kept (campaign why)
            item = repository.next_preview_item(session, agent_id=owner.agent_id or 0,
                                                skip=tuple(i for i in skip if 0 < i <= ID_MAX), site=site)
        return _plain(item) if item is not None else None

    @app.post("/v1/desk/preview/{work_item_id}/skip", tags=["desk"])
    def skip_preview(owner: Desk, work_item_id: Id, body: PreviewSkipIn) -> dict[str, bool]:
        with write() as session:
            repository.skip_work_item(session, work_item_id, reason=body.reason, agent_id=owner.agent_id)
        return {"ok": True}

    @app.post("/v1/desk/preview/{work_item_id}/schedule", tags=["desk"])
    def schedule_preview(owner: Desk, work_item_id: Id, body: PreviewScheduleIn) -> dict[str, bool]:
        _aware(body.at, "at")
        with write() as session:
            repository.schedule_work_item(session, work_item_id, at=body.at, agent_id=owner.agent_id)
        return {"ok": True}

    @app.post("/v1/desk/preview/{work_item_id}/attempts", tags=["desk"])
    def dial_attempt(owner: Desk, work_item_id: Id, body: DialAttemptIn) -> dict[str, bool]:
        with write() as session:
            repository.record_dial_attempt(session, work_item_id, result=body.result, agent_id=owner.agent_id or 0,
                                           cti_call_id=body.call_id)
        return {"ok": True}

    @app.get("/v1/desk/settings", tags=["desk"])
    def desk_settings(owner: Desk) -> dict[str, Any]:
        """Queues' and campaigns' disposition codes, and who a call can be handed to."""
        with read() as session:
            return {
                "queues": [_plain(q) for q in repository.list_queues(session, site)],
                "campaign_dispositions": {k: list(v) for k, v in repository.campaign_dispositions(session).items()},
                "transfer_targets": [[f"{a.name} ({a.extension})", a.extension]
                                     for a in repository.list_agents(session, site) if a.extension],
            }

    return app


async def _run_sync(fn: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    from starlette.concurrency import run_in_threadpool

    return await run_in_threadpool(fn)


def _report(report: Any) -> dict[str, Any]:
    return _plain(report)


def _plain(value: Any) -> Any:
    """Dataclasses, enums, decimals and times as JSON values (decimals as strings, times in ISO 8601)."""
    import dataclasses
    import enum

    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    if hasattr(value, "__fspath__"):
        return str(value)
    return value
