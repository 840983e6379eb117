"""The data model: SQLAlchemy 2 typed declarative classes, one table each.

Everything that changes the schema goes through an Alembic migration in ``crm/migrations``; the
models and the migrations are compared in the tests, so they cannot drift apart.

Times are stored as timezone-aware UTC. Money is ``Numeric(12, 2)`` with a currency code. Phone
numbers are stored in E.164 only (``crm.phones`` normalizes them on the way in).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Index,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from .masking import mask

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every backend (SQLite keeps no offset of its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where a timezone-aware one is required")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _enum(cls: type[enum.Enum], name: str) -> Enum:
    return Enum(cls, name=name, native_enum=False, validate_strings=True, length=32,
                values_callable=lambda e: [m.value for m in e])


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UtcDateTime(), dict[str, Any]: JSON, list[Any]: JSON}  # noqa: RUF012


# --- customers ---------------------------------------------------------------------------------


class Tier(enum.StrEnum):
    VIP = "vip"
    GOLD = "gold"
    STANDARD = "standard"
    PROSPECT = "prospect"


class Customer(Base):
    __tablename__ = "customer"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    tier: Mapped[Tier] = mapped_column(_enum(Tier, "tier"), default=Tier.STANDARD)
    segment: Mapped[str | None] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(16), default="en")
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC")
    email: Mapped[str | None] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    phones: Mapped[list[PhoneNumber]] = relationship(back_populates="customer", cascade="all, delete-orphan")
    accounts: Mapped[list[Account]] = relationship(back_populates="customer", cascade="all, delete-orphan")


class PhoneNumber(Base):
    __tablename__ = "phone_number"
    __table_args__ = (UniqueConstraint("customer_id", "e164"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"), index=True)
    e164: Mapped[str] = mapped_column(String(16), index=True)
    kind: Mapped[str] = mapped_column(String(16), default="mobile")
    is_primary: Mapped[bool] = mapped_column(default=False)

    customer: Mapped[Customer] = relationship(back_populates="phones")


class Account(Base):
    __tablename__ = "account"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"), index=True)
    account_number: Mapped[str] = mapped_column(String(32), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="active")
    plan: Mapped[str | None] = mapped_column(String(64))
    balance: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=Decimal("0.00"))
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    pin_hash: Mapped[str | None] = mapped_column(String(200))
    #: Wrong PINs in a row, across calls; at ``crm.lockout.MAX_FAILURES`` the PIN locks until ``pin_locked_until``.
    pin_failures: Mapped[int] = mapped_column(default=0, server_default="0")
    pin_locked_until: Mapped[datetime | None]
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)

    customer: Mapped[Customer] = relationship(back_populates="accounts")


class Consent(Base):
    """What a customer agreed to (or refused) on which channel, for which purpose.

    The newest record for a channel (or for ``all``) decides; ``crm.consent`` reads and writes them.
    """

    __tablename__ = "consent"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(32))
    purpose: Mapped[str] = mapped_column(String(32), default="marketing")
    granted: Mapped[bool]
    source: Mapped[str | None] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)


class DoNotCall(Base):
    """A number that must not be dialled for outbound campaigns (until ``expires_at``, if set)."""

    __tablename__ = "do_not_call"

    id: Mapped[int] = mapped_column(primary_key=True)
    e164: Mapped[str] = mapped_column(String(16), unique=True)
    reason: Mapped[str | None] = mapped_column(String(200))
    source: Mapped[str | None] = mapped_column(String(64), index=True)  # a registry's edition, "wrap-up", ...
    added_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None]


# --- people and queues -------------------------------------------------------------------------


class Role(enum.StrEnum):
    AGENT = "agent"
    SUPERVISOR = "supervisor"
    CAMPAIGN_MANAGER = "campaign_manager"
    ADMIN = "admin"


#: The site of rows made without one (``Settings.site``'s default): a single-site installation's.
DEFAULT_SITE = "main"


def _site_column() -> Mapped[str]:
    """The site (``Settings.site``) a per-site row belongs to: its ACD, dialer and desktops see only their own."""
    return mapped_column(String(128), default=DEFAULT_SITE, server_default=DEFAULT_SITE, index=True)


class Agent(Base):
    __tablename__ = "agent"
    __table_args__ = (UniqueConstraint("site", "login"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    site: Mapped[str] = _site_column()
    login: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(_enum(Role, "role"), default=Role.AGENT)
    extension: Mapped[str | None] = mapped_column(String(32))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(default=True)
    #: Wrong passwords in a row; at ``crm.lockout.MAX_FAILURES`` log-in locks until ``login_locked_until``.
    login_failures: Mapped[int] = mapped_column(default=0, server_default="0")
    login_locked_until: Mapped[datetime | None]
    #: The team the agent works in; a supervisor supervises the agents of their own team.
    team: Mapped[str | None] = mapped_column(String(64))

    skills: Mapped[list[AgentSkill]] = relationship(back_populates="agent", cascade="all, delete-orphan")


class Skill(Base):
    __tablename__ = "skill"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)


class AgentSkill(Base):
    __tablename__ = "agent_skill"
    __table_args__ = (CheckConstraint("proficiency BETWEEN 1 AND 10", name="proficiency_range"),)

    agent_id: Mapped[int] = mapped_column(ForeignKey("agent.id", ondelete="CASCADE"), primary_key=True)
    skill_id: Mapped[int] = mapped_column(ForeignKey("skill.id", ondelete="CASCADE"), primary_key=True)
    proficiency: Mapped[int] = mapped_column(default=5)

    agent: Mapped[Agent] = relationship(back_populates="skills")
    skill: Mapped[Skill] = relationship()


class Queue(Base):
    __tablename__ = "queue"
    __table_args__ = (UniqueConstraint("site", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    site: Mapped[str] = _site_column()
    name: Mapped[str] = mapped_column(String(64))
    skill_id: Mapped[int | None] = mapped_column(ForeignKey("skill.id"))
    service_level_seconds: Mapped[int] = mapped_column(default=20)
    service_level_target: Mapped[float] = mapped_column(default=0.8)
    wrap_up_seconds: Mapped[int] = mapped_column(default=30)
    dispositions: Mapped[list[Any]] = mapped_column(default=list)
    # Routing rules (routing.model.QueueConfig); None: the ACD's default.
    agent_selection: Mapped[str | None] = mapped_column(String(32))  # longest_idle, most_skilled...
    priority: Mapped[int] = mapped_column(default=0, server_default="0")  # added to each call's priority
    aging_per_minute: Mapped[float] = mapped_column(default=0.0, server_default="0")
    overflow_after_seconds: Mapped[float | None]
    overflow_to: Mapped[list[Any]] = mapped_column(default=list)
    max_wait_seconds: Mapped[float | None]
    fallback: Mapped[str | None] = mapped_column(String(32))  # voicemail, callback, disconnect, queue
    fallback_queue: Mapped[str | None] = mapped_column(String(64))

    skill: Mapped[Skill | None] = relationship()


# --- interactions ------------------------------------------------------------------------------


class Channel(enum.StrEnum):
    VOICE_IN = "voice_in"
    VOICE_OUT = "voice_out"
    EMAIL = "email"
    SMS = "sms"
    CHAT = "chat"
    WEB = "web"
    STORE = "store"


class Contact(Base):
    """One interaction with a customer on any channel."""

    __tablename__ = "contact"
    __table_args__ = (Index("ix_contact_customer_started", "customer_id", "started_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customer.id", ondelete="SET NULL"))
    channel: Mapped[Channel] = mapped_column(_enum(Channel, "channel"))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None]
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agent.id", ondelete="SET NULL"))
    queue: Mapped[str | None] = mapped_column(String(64))
    cti_call_id: Mapped[str | None] = mapped_column(String(128), index=True)
    ivr_data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    disposition: Mapped[str | None] = mapped_column(String(64))
    notes: Mapped[str | None] = mapped_column(Text)
    summary: Mapped[str | None] = mapped_column(String(200))
    work_item_id: Mapped[int | None] = mapped_column(ForeignKey("work_item.id", ondelete="SET NULL"), index=True)
    #: The writer's own key for this contact (a desktop's draft id): a retried write never duplicates it.
    client_ref: Mapped[str | None] = mapped_column(String(64), unique=True)
    #: The communication the customer called about ("this bill is wrong"), when there is one.
    communication_id: Mapped[int | None] = mapped_column(
        ForeignKey("communication.id", ondelete="SET NULL"), index=True)
    #: Seconds the agent spent in wrap-up after the call (talk time is the rest of the contact).
    wrap_up_s: Mapped[float | None] = mapped_column(Float)

    agent: Mapped[Agent | None] = relationship()


class Order(Base):
    __tablename__ = "customer_order"
    __table_args__ = (Index("ix_customer_order_state_since", "state", "state_since"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"), index=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contact.id", ondelete="SET NULL"), index=True)
    work_item_id: Mapped[int | None] = mapped_column(ForeignKey("work_item.id", ondelete="SET NULL"), index=True)
    #: The work item's attempt on the contact that made the order (a dial, an offer made).
    attempt_id: Mapped[int | None] = mapped_column(ForeignKey("attempt.id", ondelete="SET NULL"), index=True)
    product: Mapped[str] = mapped_column(String(120))
    quantity: Mapped[int] = mapped_column(default=1)
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=Decimal("0.00"))
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    status: Mapped[str] = mapped_column(String(32), default="open")
    external_ref: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    #: The workflow it follows (``resources/workflows``), its state there, and since when.
    workflow: Mapped[str] = mapped_column(String(64), default="broadband_order")
    state: Mapped[str] = mapped_column(String(32), default="submitted")
    state_since: Mapped[datetime] = mapped_column(default=utcnow)
    #: The group (back office desk, team) it was handed to when a time limit passed; None: the agent's.
    assigned_to: Mapped[str | None] = mapped_column(String(64))


class ServiceRequest(Base):
    __tablename__ = "service_request"
    __table_args__ = (Index("ix_service_request_state_since", "state", "state_since"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"), index=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contact.id", ondelete="SET NULL"), index=True)
    work_item_id: Mapped[int | None] = mapped_column(ForeignKey("work_item.id", ondelete="SET NULL"), index=True)
    #: The work item's attempt on the contact that made the request.
    attempt_id: Mapped[int | None] = mapped_column(ForeignKey("attempt.id", ondelete="SET NULL"), index=True)
    category: Mapped[str] = mapped_column(String(64))
    summary: Mapped[str] = mapped_column(String(200))
    details: Mapped[str | None] = mapped_column(Text)
    priority: Mapped[str] = mapped_column(String(16), default="normal")
    status: Mapped[str] = mapped_column(String(32), default="open")
    external_ref: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None]
    #: The workflow it follows (``resources/workflows``), its state there, and since when.
    workflow: Mapped[str] = mapped_column(String(64), default="fault_report")
    state: Mapped[str] = mapped_column(String(32), default="opened")
    state_since: Mapped[datetime] = mapped_column(default=utcnow)
    #: The group (back office desk, team) it was handed to when a time limit passed; None: the agent's.
    assigned_to: Mapped[str | None] = mapped_column(String(64))


class Communication(Base):
    """Something sent to the customer (bill, statement, offer, notice), visible to the agent."""

    __tablename__ = "communication"
    __table_args__ = (Index("ix_communication_customer_sent", "customer_id", "sent_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(200))
    amount: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    currency: Mapped[str | None] = mapped_column(String(3))
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: What was sent (plain text), and for a bill its lines (``[{"label", "amount"}]``).
    body: Mapped[str | None] = mapped_column(Text)
    lines: Mapped[list[Any]] = mapped_column(default=list)
    #: The system that posted it (an API client) and that system's own key (a retried post is one row).
    source: Mapped[str | None] = mapped_column(String(64))
    external_ref: Mapped[str | None] = mapped_column(String(128))


# --- campaigns ---------------------------------------------------------------------------------


class CampaignStatus(enum.StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    PAUSED = "paused"
    FINISHED = "finished"


class Campaign(Base):
    __tablename__ = "campaign"
    __table_args__ = (UniqueConstraint("site", "campaign_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    site: Mapped[str] = _site_column()
    campaign_key: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[CampaignStatus] = mapped_column(
        _enum(CampaignStatus, "campaign_status"), default=CampaignStatus.ACTIVE
    )
    products: Mapped[list[Any]] = mapped_column(default=list)
    script: Mapped[str | None] = mapped_column(Text)
    starts_at: Mapped[datetime | None]
    ends_at: Mapped[datetime | None]
    calling_hours: Mapped[dict[str, Any]] = mapped_column(default=dict)
    rules: Mapped[dict[str, Any]] = mapped_column(default=dict)
    dial_mode: Mapped[str] = mapped_column(String(16), default="preview")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    activities: Mapped[list[Activity]] = relationship(back_populates="campaign", cascade="all, delete-orphan")


class Activity(Base):
    """One channel of a campaign (outbound call, inbound offer, SMS)."""

    __tablename__ = "activity"
    __table_args__ = (UniqueConstraint("campaign_id", "channel"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(32))

    campaign: Mapped[Campaign] = relationship(back_populates="activities")
    tasks: Mapped[list[Task]] = relationship(back_populates="activity", cascade="all, delete-orphan")


class Task(Base):
    """A batch of an activity's work, assigned to one executor: an agent, a skill group or a system."""

    __tablename__ = "task"

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("activity.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agent.id", ondelete="SET NULL"))
    skill: Mapped[str | None] = mapped_column(String(64))

    activity: Mapped[Activity] = relationship(back_populates="tasks")


class WorkItemStatus(enum.StrEnum):
    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


class WorkItem(Base):
    """One customer to work in one activity, by one executor."""

    __tablename__ = "work_item"
    __table_args__ = (
        UniqueConstraint("activity_id", "customer_id"),
        Index("ix_work_item_customer_status", "customer_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("task.id", ondelete="CASCADE"), index=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("activity.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"))
    phone_e164: Mapped[str | None] = mapped_column(String(16))
    offer: Mapped[str | None] = mapped_column(String(200))
    priority: Mapped[int] = mapped_column(default=0)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agent.id", ondelete="SET NULL"))
    status: Mapped[WorkItemStatus] = mapped_column(
        _enum(WorkItemStatus, "work_item_status"), default=WorkItemStatus.PENDING
    )
    result: Mapped[str | None] = mapped_column(String(32))
    reason: Mapped[str | None] = mapped_column(String(200))
    attempt_count: Mapped[int] = mapped_column(default=0)
    last_attempt_at: Mapped[datetime | None]
    next_attempt_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: What came with the work item: a requested callback's promise and the IVR's attached data.
    attached: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    activity: Mapped[Activity] = relationship()
    task: Mapped[Task] = relationship()
    attempts: Mapped[list[Attempt]] = relationship(back_populates="work_item", cascade="all, delete-orphan")


class Attempt(Base):
    """One try at a work item: a dial, a message sent, an offer made during an inbound call."""

    __tablename__ = "attempt"

    id: Mapped[int] = mapped_column(primary_key=True)
    work_item_id: Mapped[int] = mapped_column(ForeignKey("work_item.id", ondelete="CASCADE"), index=True)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None]
    result: Mapped[str] = mapped_column(String(32))
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agent.id", ondelete="SET NULL"))
    cti_call_id: Mapped[str | None] = mapped_column(String(128))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contact.id", ondelete="SET NULL"))
    # The writer's own id of this attempt (the dialer's dial): a retried write never adds a second row.
    client_ref: Mapped[str | None] = mapped_column(String(64), unique=True)

    work_item: Mapped[WorkItem] = relationship(back_populates="attempts")


class IvrSession(Base):
    """One caller's pass through an IVR flow, for containment and path reports. Never holds a PIN."""

    __tablename__ = "ivr_session"
    __table_args__ = (Index("ix_ivr_session_started", "started_at"),
                      Index("ix_ivr_session_site_started", "site", "started_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The site of the IVR that served the call (``ccenter ivr report`` reads one site's).
    site: Mapped[str] = mapped_column(String(128), default=DEFAULT_SITE, server_default=DEFAULT_SITE)
    cti_call_id: Mapped[str] = mapped_column(String(128), index=True)
    flow: Mapped[str] = mapped_column(String(64))
    caller: Mapped[str | None] = mapped_column(String(32))
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime]
    exit: Mapped[str] = mapped_column(String(32))  # self_served, transferred, callback, abandoned, hung_up
    exit_node: Mapped[str | None] = mapped_column(String(64))
    path: Mapped[list[Any]] = mapped_column(default=list)
    menu_path: Mapped[list[Any]] = mapped_column(default=list)
    language: Mapped[str | None] = mapped_column(String(16))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customer.id", ondelete="SET NULL"))
    verified: Mapped[bool] = mapped_column(default=False)
    intent: Mapped[str | None] = mapped_column(String(64))
    self_service: Mapped[list[Any]] = mapped_column(default=list)
    queue: Mapped[str | None] = mapped_column(String(64))
    priority: Mapped[int | None]
    #: The IVR's own id of the record: its outbox writes it again after a lost answer, never twice.
    client_ref: Mapped[str | None] = mapped_column(String(64), unique=True)


class SupervisorAudit(Base):
    """One supervisor action: who, what, on what, when, and its result (``ok``, ``refused``, ``failed``)."""

    __tablename__ = "supervisor_audit"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=lambda: datetime.now(UTC), index=True)
    actor: Mapped[str] = mapped_column(String(64), index=True)
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(200))
    args: Mapped[dict[str, Any]] = mapped_column(default=dict)
    result: Mapped[str] = mapped_column(String(16))
    detail: Mapped[str] = mapped_column(Text, default="")
    action_id: Mapped[str] = mapped_column(String(64), default="")


# ---------------------------------------------------------------------------------------------
# Card numbers never reach the database: free text is masked as it is assigned (crm.masking).

_FREE_TEXT: dict[type[Base], tuple[str, ...]] = {
    Customer: ("name", "segment"),
    DoNotCall: ("reason",),
    Contact: ("notes", "summary", "ivr_data"),
    Order: ("product",),
    ServiceRequest: ("summary", "details"),
    Communication: ("subject", "body", "lines"),
    Campaign: ("name", "script"),
    Task: ("name",),
    WorkItem: ("offer", "reason"),
    SupervisorAudit: ("detail",),
    IvrSession: ("path", "menu_path", "self_service", "intent"),
}


def _masked(_target: Any, value: Any, _old: Any, _initiator: Any) -> Any:
    return mask(value)


for _model, _names in _FREE_TEXT.items():
    for _name in _names:
        event.listen(getattr(_model, _name), "set", _masked, retval=True)


def masked_values(model: type[Base], values: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` of a row of ``model`` for a bulk INSERT, UPDATE or COPY, with its free-text columns
    masked: bulk statements bypass the attribute events that mask them on ORM objects."""
    names = _FREE_TEXT.get(model, ())
    return {name: mask(value) if name in names else value for name, value in values.items()}


# ---------------------------------------------------------------------------------------------
# The extensions an agent may log in on (besides ``Agent.extension``): the CTI gateway refuses others.


class AgentExtension(Base):
    __tablename__ = "agent_extension"

    agent_id: Mapped[int] = mapped_column(ForeignKey("agent.id", ondelete="CASCADE"), primary_key=True)
    extension: Mapped[str] = mapped_column(String(32), primary_key=True)


# --- workflows, connectors and the API -------------------------------------------------------


class WorkflowEvent(Base):
    """One move of an order's or a service request's workflow: who, when, from where to where."""

    __tablename__ = "workflow_event"
    __table_args__ = (Index("ix_workflow_event_subject", "subject", "subject_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    subject: Mapped[str] = mapped_column(String(32))  # order | service_request
    subject_id: Mapped[int]
    workflow: Mapped[str] = mapped_column(String(64))
    transition: Mapped[str | None] = mapped_column(String(32))  # None: created in its initial state
    from_state: Mapped[str | None] = mapped_column(String(32))
    to_state: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(16))  # agent | back_office | system
    actor_name: Mapped[str] = mapped_column(String(64))  # the agent's login or the system's name
    at: Mapped[datetime] = mapped_column(default=utcnow)
    fields: Mapped[dict[str, Any]] = mapped_column(default=dict)


class WorkflowEscalation(Base):
    """A time limit that passed and was acted on: one row per item, state and entry into that state.

    The unique key is the claim: of two ``ccenter api`` processes that see the same limit pass, the
    one whose row goes in acts; the other's insert fails and it leaves the item alone.
    """

    __tablename__ = "workflow_escalation"
    __table_args__ = (UniqueConstraint("subject", "subject_id", "state", "state_since"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    subject: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[int]
    state: Mapped[str] = mapped_column(String(32))
    state_since: Mapped[datetime]
    due_at: Mapped[datetime]
    escalated_at: Mapped[datetime]
    escalate_to: Mapped[str] = mapped_column(String(32))
    #: What was done: ``assigned_to``, ``priority`` (from, to), ``transition``.
    actions: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: The process that acted (its client id).
    escalated_by: Mapped[str] = mapped_column(String(128))


class OutboxMessage(Base):
    """A message for an external system, written with the change it reports, delivered in order later."""

    __tablename__ = "outbox_message"
    __table_args__ = (Index("ix_outbox_message_pending", "connector", "delivered_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    connector: Mapped[str] = mapped_column(String(64))
    operation: Mapped[str] = mapped_column(String(32))  # create_order | create_service_request
    subject: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[int]
    #: Sent as the Idempotency-Key header: the back end makes one order of every retry.
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    attempts: Mapped[int] = mapped_column(default=0)
    last_attempt_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(500))
    delivered_at: Mapped[datetime | None]
    #: True when the back end refused it for good (a 4xx): kept for a person, no longer blocking the rest.
    refused: Mapped[bool] = mapped_column(default=False)


class ApiToken(Base):
    """A bearer token of ``ccenter api``: one per external system, or one per agent log-in. Only its hash is kept."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64))  # the system's name, or the agent's login
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[Any]] = mapped_column(default=list)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agent.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None]
    revoked: Mapped[bool] = mapped_column(default=False)


class DialDecision(Base):
    """Why a work item was (not) worked at a moment: the dialer's decisions, kept for
    ``ccenter campaign why`` and purged after their retention period."""

    __tablename__ = "dial_decision"
    __table_args__ = (
        Index("ix_dial_decision_item_at", "work_item_id", "decided_at"),
        Index("ix_dial_decision_phone_at", "phone_e164", "decided_at"),
        Index("ix_dial_decision_campaign_at", "campaign_key", "decided_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    decided_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    campaign_key: Mapped[str] = mapped_column(String(64))
    work_item_id: Mapped[int | None] = mapped_column(ForeignKey("work_item.id", ondelete="CASCADE"))
    phone_e164: Mapped[str | None] = mapped_column(String(16))
    dialled: Mapped[bool]
    rule: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(String(200))
    retry_at: Mapped[datetime | None]
