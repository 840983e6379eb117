"""Demo data: realistic customers of a telecom operator, their history, agents, queues, a campaign.

``seed(engine, customers=N)`` adds N customers (names in English and Chinese, valid mobile numbers in
several regions with matching time zones, VIP/gold/standard tiers) with accounts, contact history,
orders, service requests and communications; on an empty database it also adds agents with skills,
queues and a running campaign whose offers apply to some of the customers. It is deterministic for a
given ``random_seed`` and runs as one transaction: it adds everything or nothing. Rows go in with
Core ``executemany`` in batches, which keeps 100,000 customers well under half a minute on SQLite.

Every demo account has the PIN ``DEMO_PIN`` and every demo agent the password ``DEMO_PASSWORD``,
each hashed with scrypt and a salt of its own, so no two stored hashes are alike. Agents' passwords
get the standard cost; the demo PIN, which is published, is hashed at :data:`DEMO_PIN_COST` so that
a million accounts still seed in minutes (the cost is stored in each hash; real PINs set later get
the standard cost).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, cast

import phonenumbers
from sqlalchemy import Connection, Engine, Table, func, insert, select

from .models import (
    DEFAULT_SITE,
    Account,
    Activity,
    Agent,
    AgentSkill,
    Base,
    Campaign,
    CampaignStatus,
    Channel,
    Communication,
    Contact,
    Customer,
    Order,
    PhoneNumber,
    Queue,
    Role,
    ServiceRequest,
    Skill,
    Task,
    Tier,
    WorkItem,
    WorkItemStatus,
)
from .secrets import hash_secret
from .workflows import Workflow, shipped

logger = logging.getLogger(__name__)

DEMO_PIN = "1234"
#: The demo campaign every seeded site gets.
DEMO_CAMPAIGN = "Q4-5G-UPGRADE"
DEMO_PASSWORD = "demo"
#: scrypt's work factor for the published demo PIN (a fresh salt each; see the module's docstring).
DEMO_PIN_COST = 2**4
BATCH = 5_000

_EN_FIRST = [
    "James",
    "Mary",
    "Robert",
    "Patricia",
    "John",
    "Jennifer",
    "Michael",
    "Linda",
    "David",
    "Elizabeth",
    "William",
    "Barbara",
    "Richard",
    "Susan",
    "Joseph",
    "Jessica",
    "Thomas",
    "Sarah",
    "Charles",
    "Karen",
    "Daniel",
    "Nancy",
    "Matthew",
    "Lisa",
    "Anthony",
    "Betty",
    "Mark",
    "Sandra",
    "Olivia",
    "Noah",
    "Emma",
    "Liam",
    "Ava",
    "Lucas",
    "Mia",
    "Ethan",
    "Chloe",
    "Oliver",
    "Grace",
]
_EN_LAST = [
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Wilson",
    "Anderson",
    "Taylor",
    "Thomas",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Thompson",
    "White",
    "Harris",
    "Clark",
    "Lewis",
    "Walker",
    "Hall",
    "Young",
    "King",
    "Wright",
    "Scott",
    "Green",
    "Baker",
    "Adams",
    "Nelson",
    "Hill",
    "Campbell",
    "Mitchell",
    "Roberts",
    "Carter",
    "Phillips",
    "O'Brien",
]
_ZH_FAMILY = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾萧田董袁潘蔡蒋余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史黎贺顾毛郝龚邵万钱覃武戴孔汤庞樊兰殷施陶洪翟安颜倪严牛温芦季俞章鲁葛伍申尤毕聂柴焦向柳邢岳齐沿梅莫庄辛管祝左涂谷祁时舒耿牟卜路詹关苗凌费纪靳盛童欧甄项曲成游阳裴席卫查屈鲍位覃霍翁隋植甘景薄单包司柏宁柯阮桂闵欧阳解强丛华车冉房边辜吉饶刁瞿戚丘米池滕晋苑邬臧畅宫来嵺苟全褚廉简娄盖符奚木穆党燕郎邸冀谈姬屠连郜晏栾郁商蒙计喻揭窦迟宇敖糜鄢冷卓花艾蓝都巩稽井练仲乐虞卞封竺冼原官衣楚佟栗匡宗应台巫鞠僧桑荆谌银扬明沙薄伏岑习胥保和蔺"  # noqa: E501
_ZH_GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国志强文博子涵浩然梓萱一诺欣怡宇轩雨桐思远晓东"

# Region: (share of customers, languages, {prefix template: time zone}). Templates put random digits at '#'.
_REGIONS: dict[str, tuple[float, tuple[str, ...], dict[str, str]]] = {
    "US": (
        0.45,
        ("en", "es"),
        {
            "+1212#######": "America/New_York",
            "+1617#######": "America/New_York",
            "+1312#######": "America/Chicago",
            "+1512#######": "America/Chicago",
            "+1303#######": "America/Denver",
            "+1415#######": "America/Los_Angeles",
            "+1206#######": "America/Los_Angeles",
            "+1808#######": "Pacific/Honolulu",
        },
    ),
    "CN": (
        0.25,
        ("zh-CN",),
        {"+86138########": "Asia/Shanghai", "+86159########": "Asia/Shanghai", "+86186########": "Asia/Shanghai"},
    ),
    "GB": (0.10, ("en",), {"+447700######": "Europe/London", "+447911######": "Europe/London"}),
    "HK": (0.06, ("zh-HK", "en"), {"+8529#######": "Asia/Hong_Kong", "+8526#######": "Asia/Hong_Kong"}),
    "SG": (0.05, ("en", "zh-CN"), {"+659#######": "Asia/Singapore", "+658#######": "Asia/Singapore"}),
    "AU": (0.05, ("en",), {"+6141#######": "Australia/Sydney", "+6142#######": "Australia/Melbourne"}),
    "DE": (0.04, ("de", "en"), {"+49151########": "Europe/Berlin", "+49170#######": "Europe/Berlin"}),
}

_PLANS = ("Prepaid 10", "Unlimited 5G", "Family 4 lines", "Fibre 500", "Fibre 1000 + TV", "Business Pro")
_PRODUCTS = (
    ("5G upgrade", "30.00"),
    ("Fibre 1000", "59.00"),
    ("Extra SIM", "10.00"),
    ("Roaming pack", "15.00"),
    ("Smartphone X", "799.00"),
    ("TV sports add-on", "12.50"),
)
def _in_state(workflow: Workflow, status: str) -> dict[str, Any]:
    """Columns of an order or request in the first state of ``workflow`` with this coarse status."""
    state = next((s.name for s in workflow.states.values() if s.status == status), workflow.initial)
    return {"workflow": workflow.name, "state": state, "status": workflow.state(state).status}


_REQUESTS = (
    ("billing", "Disputed charge on last bill"),
    ("technical", "No signal at home"),
    ("technical", "Slow broadband in the evening"),
    ("move", "Moving house: transfer line"),
    ("billing", "Refund for outage"),
    ("device", "Phone screen replacement"),
)
_SUMMARIES = {
    "billing": ("Explained roaming charges on the last bill", "Set up direct debit", "Late fee waived once"),
    "technical": ("Router restarted remotely, line stable", "Booked engineer visit", "APN settings sent by SMS"),
    "sales": ("Asked about Fibre 1000 pricing", "Upgraded to Unlimited 5G", "Sent quote for family plan"),
    "retention": ("Wanted to cancel: offered loyalty discount", "Contract end date confirmed"),
    "vip": ("Priority callback about service outage", "Device replacement arranged"),
    "chinese": ("询问账单明细", "办理套餐升级", "报修：家中无信号"),
}
_DISPOSITIONS = ("resolved", "resolved", "info_given", "order_placed", "escalated", "callback_scheduled")
_QUEUES = (
    ("billing", "billing", 20, 0.8),
    ("technical", "technical", 30, 0.8),
    ("sales", "sales", 20, 0.8),
    ("retention", "retention", 15, 0.9),
    ("vip", "vip", 10, 0.9),
    ("chinese", "mandarin", 20, 0.8),
    # The other queues the shipped IVR flows (resources/ivr/) hand calls to: `ccenter doctor` checks
    # that every queue a flow names exists.
    ("general", "billing", 30, 0.8),
    ("callbacks", "sales", 600, 0.8),
    ("technical_24x7", "technical", 60, 0.8),
)
_AGENTS = (
    ("alice", "Alice Morgan", "1001", {"billing": 8, "sales": 5, "vip": 9}),
    ("bob", "Bob Chen", "1002", {"technical": 9, "mandarin": 8}),
    ("carol", "Carol Diaz", "1003", {"sales": 9, "retention": 7}),
    ("dave", "Dave Okafor", "1004", {"billing": 6, "technical": 5}),
    ("erin", "Erin Walsh", "1005", {"retention": 9, "vip": 7, "billing": 5}),
    ("li.wei", "李伟", "1006", {"mandarin": 10, "billing": 7, "sales": 6}),
    ("zhang.min", "张敏", "1007", {"mandarin": 9, "technical": 7}),
    ("frank", "Frank Novak", "1008", {"sales": 6, "billing": 4}),
)


@dataclass(frozen=True, slots=True)
class SeedReport:
    customers: int
    contacts: int
    orders: int
    service_requests: int
    communications: int
    agents: int
    work_items: int


class _Writer:
    """Buffers rows per table and writes them with executemany."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.buffers: dict[Table, list[dict[str, Any]]] = {}
        self.counts: dict[str, int] = {}

    def add(self, table: Table, row: dict[str, Any]) -> None:
        buffer = self.buffers.setdefault(table, [])
        buffer.append(row)
        if len(buffer) >= BATCH:
            self.flush_all()

    def flush(self, table: Table) -> None:
        rows = self.buffers.get(table)
        if rows:
            self.connection.execute(insert(table), rows)
            self.counts[table.name] = self.counts.get(table.name, 0) + len(rows)
            rows.clear()

    def flush_all(self) -> None:
        # Parents before children: the tables' dependency order.
        for table in sorted(self.buffers, key=_TABLE_ORDER.index):
            self.flush(table)


_TABLE_ORDER: list[Table] = []


def _table(model: type[Base]) -> Table:
    return cast(Table, model.__table__)


def _advance_sequences(connection: Connection) -> None:
    """Rows went in with their own ids: move PostgreSQL's id sequences past them (SQLite needs nothing),
    or the next row the product adds would collide with a seeded one."""
    if connection.dialect.name != "postgresql":
        return
    for table in Base.metadata.sorted_tables:
        column = table.c.get("id")
        if column is None or not column.primary_key:
            continue
        connection.exec_driver_sql(
            f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
            f"COALESCE((SELECT MAX(id) FROM {table.name}), 1), "
            f"(SELECT MAX(id) FROM {table.name}) IS NOT NULL)"
        )


def _next_id(connection: Connection, table: Table) -> int:
    return int(connection.scalar(select(func.coalesce(func.max(table.c.id), 0))) or 0) + 1


def _work_item(
    item_id: int, target: tuple[int, int], customer_id: int, phone: str | None, priority: int, now: datetime
) -> dict[str, Any]:
    activity_id, task_id = target
    return {
        "id": item_id, "task_id": task_id, "activity_id": activity_id, "customer_id": customer_id,
        "phone_e164": phone, "offer": "5G upgrade: 3 months free", "priority": priority, "agent_id": None,
        "status": WorkItemStatus.PENDING, "result": None, "reason": None, "attempt_count": 0,
        "last_attempt_at": None, "next_attempt_at": None, "created_at": now,
    }


def _phone(rng: random.Random, template: str) -> str:
    while True:
        number = "".join(str(rng.randrange(10)) if ch == "#" else ch for ch in template)
        if phonenumbers.is_valid_number(phonenumbers.parse(number, None)):
            return number


def _name(rng: random.Random, language: str) -> str:
    if language.startswith("zh"):
        return rng.choice(_ZH_FAMILY) + "".join(rng.choice(_ZH_GIVEN) for _ in range(rng.choice((1, 2))))
    return f"{rng.choice(_EN_FIRST)} {rng.choice(_EN_LAST)}"


def _ensure_reference_data(connection: Connection, writer: _Writer, now: datetime, site: str) -> dict[str, int]:
    """Agents, queues and the demo campaign of ``site``, added once: nothing when the site has agents.
    Skills are shared by every site (a skill means the same everywhere): only the missing ones are added."""
    if connection.scalar(select(func.count()).select_from(_table(Agent)).where(Agent.site == site)):
        return {}
    skill_names = sorted({s for *_, skills in _AGENTS for s in skills} | {q[1] for q in _QUEUES})
    skill_ids = {str(name): int(i) for name, i in connection.execute(select(Skill.name, Skill.id))}
    missing = [name for name in skill_names if name not in skill_ids]
    if missing:
        first = _next_id(connection, _table(Skill))
        added = {name: first + k for k, name in enumerate(missing)}
        connection.execute(insert(_table(Skill)), [{"id": i, "name": name} for name, i in added.items()])
        skill_ids.update(added)
    first_agent = _next_id(connection, _table(Agent))
    agents = [
        {
            "id": first_agent + k,
            "site": site,
            "login": login,
            "name": name,
            "role": Role.AGENT,
            "extension": ext,
            "password_hash": hash_secret(DEMO_PASSWORD),
            "active": True,
            "team": "north" if k < len(_AGENTS) // 2 else "south",
        }
        for k, (login, name, ext, _skills) in enumerate(_AGENTS)
    ]
    agents.append(
        {
            "id": first_agent + len(agents),
            "site": site,
            "login": "sam",
            "name": "Sam Supervisor",
            "role": Role.SUPERVISOR,
            "extension": "1100",
            "password_hash": hash_secret(DEMO_PASSWORD),
            "active": True,
            "team": "north",
        }
    )
    connection.execute(insert(_table(Agent)), agents)
    connection.execute(
        insert(_table(AgentSkill)),
        [
            {"agent_id": first_agent + k, "skill_id": skill_ids[s], "proficiency": p}
            for k, (*_, skills) in enumerate(_AGENTS)
            for s, p in skills.items()
        ],
    )
    first_queue = _next_id(connection, _table(Queue))
    connection.execute(
        insert(_table(Queue)),
        [
            {
                "id": first_queue + k,
                "site": site,
                "name": name,
                "skill_id": skill_ids[skill],
                "service_level_seconds": sl,
                "service_level_target": target,
                "wrap_up_seconds": 30,
                "dispositions": ["resolved", "order_placed", "info_given", "escalated", "callback_scheduled"],
                # VIP callers reach the most skilled agent, ahead of the other queues' callers.
                "agent_selection": "most_skilled" if name == "vip" else None,
                "priority": 5 if name == "vip" else 0,
                "aging_per_minute": 0.0,
                "overflow_to": [],
            }
            for k, (name, skill, sl, target) in enumerate(_QUEUES)
        ],
    )
    campaign_id = _next_id(connection, _table(Campaign))
    connection.execute(
        insert(_table(Campaign)),
        [
            {
                "id": campaign_id,
                "site": site,
                "campaign_key": DEMO_CAMPAIGN,
                "name": "5G upgrade for loyal customers",
                "status": CampaignStatus.ACTIVE,
                "products": ["5G upgrade", "Smartphone X"],
                "script": (
                    "Thank the customer for being with us. Offer the 5G upgrade at no extra cost for the first "
                    "three months; mention the Smartphone X bundle if they ask about devices."
                ),
                "starts_at": now - timedelta(days=7),
                "ends_at": now + timedelta(days=60),
                "calling_hours": {"start": "08:00", "end": "21:00", "days": [0, 1, 2, 3, 4, 5, 6]},
                "rules": {
                    "max_attempts": 3,
                    "retry": {"busy": 1800, "no_answer": 7200},
                    "frequency_cap": {"contacts": 2, "days": 7},
                    "abandon_target": 0.03,
                },
                "dial_mode": "preview",
                "created_at": now - timedelta(days=8),
            }
        ],
    )
    activity_id = _next_id(connection, _table(Activity))
    connection.execute(
        insert(_table(Activity)),
        [
            {"id": activity_id, "campaign_id": campaign_id, "channel": "inbound_offer"},
            {"id": activity_id + 1, "campaign_id": campaign_id, "channel": "outbound_call"},
        ],
    )
    task_id = _next_id(connection, _table(Task))
    connection.execute(
        insert(_table(Task)),
        [
            {"id": task_id, "activity_id": activity_id, "name": "Offer on inbound calls", "agent_id": None,
             "skill": None},
            {"id": task_id + 1, "activity_id": activity_id + 1, "name": "Outbound: sales team", "agent_id": None,
             "skill": "sales"},
        ],
    )
    return {"agents": len(agents)}


def _target(rng: random.Random, tier: Tier, activity: tuple[int, int] | None, outbound: tuple[int, int] | None,
            primary: str) -> tuple[tuple[int, int] | None, str | None]:
    """The campaign's offer: pitched on inbound calls to VIP and gold customers, dialled out to some gold."""
    if activity is not None and tier is not Tier.STANDARD and rng.random() < 0.5:
        return activity, None
    if outbound is not None and tier is Tier.GOLD and rng.random() < 0.3:
        return outbound, primary
    return None, None


def _site_work_items(connection: Connection, writer: _Writer, rng: random.Random, now: datetime,
                     activity: tuple[int, int] | None, outbound: tuple[int, int] | None) -> None:
    """A new site's campaign in a database whose (shared) customers exist already: its work items are
    drawn from them as they would have been at their seeding."""
    item_t = _table(WorkItem)
    next_item = _next_id(connection, item_t)
    primaries = {cid: e164 for cid, e164 in connection.execute(
        select(PhoneNumber.customer_id, PhoneNumber.e164).where(PhoneNumber.is_primary.is_(True)))}
    for cid, tier in connection.execute(select(Customer.id, Customer.tier).order_by(Customer.id)):
        target, phone = _target(rng, Tier(tier), activity, outbound, primaries.get(cid, ""))
        if target is not None:
            writer.add(item_t, _work_item(next_item, target, cid, phone or None, 1 if tier is Tier.VIP else 0, now))
            next_item += 1


def seed(
    engine: Engine,
    *,
    customers: int,
    random_seed: int = 7,
    now: datetime | None = None,
    progress: Callable[[int], None] | None = None,
    site: str = DEFAULT_SITE,
) -> SeedReport:
    """Add ``customers`` demo customers with their history, and ``site``'s agents, queues and campaign if
    the site has none yet; one transaction. Customers are shared by every site: a site added to a database
    that holds customers already gets its campaign's work items among them (give ``customers=0``)."""
    if customers < 0:
        raise ValueError("customers must be zero or more")
    now = now or datetime.now(UTC)
    rng = random.Random(random_seed)
    regions = list(_REGIONS)
    weights = [_REGIONS[r][0] for r in regions]
    with engine.begin() as connection:
        if not _TABLE_ORDER:
            _TABLE_ORDER.extend(Customer.metadata.sorted_tables)
        writer = _Writer(connection)
        had_customers = bool(connection.scalar(select(func.count()).select_from(_table(Customer))))
        extra = _ensure_reference_data(connection, writer, now, site)
        agent_ids = list(connection.scalars(select(Agent.id).where(Agent.site == site, Agent.role == Role.AGENT)))
        queues = list(connection.scalars(select(Queue.name).where(Queue.site == site)))
        activities = {
            channel: (activity_id, task_id)
            for channel, activity_id, task_id in connection.execute(
                select(Activity.channel, Activity.id, Task.id).join(Task, Task.activity_id == Activity.id)
                .join(Campaign, Campaign.id == Activity.campaign_id)
                .where(Campaign.site == site, Campaign.campaign_key == DEMO_CAMPAIGN)
            )
        }
        activity = activities.get("inbound_offer")
        outbound = activities.get("outbound_call")
        if extra and had_customers:
            _site_work_items(connection, writer, rng, now, activity, outbound)
        models: tuple[type[Base], ...] = (Customer, PhoneNumber, Account, Contact, WorkItem)
        ids = {t: _next_id(connection, _table(t)) for t in models}
        customer_t, phone_t, account_t = _table(Customer), _table(PhoneNumber), _table(Account)
        contact_t, order_t, request_t = _table(Contact), _table(Order), _table(ServiceRequest)
        comm_t, item_t = _table(Communication), _table(WorkItem)
        for n in range(customers):
            cid = ids[Customer] + n
            region = rng.choices(regions, weights)[0]
            _, languages, templates = _REGIONS[region]
            language = rng.choice(languages)
            template = rng.choice(list(templates))
            roll = rng.random()
            tier = Tier.VIP if roll < 0.05 else Tier.GOLD if roll < 0.25 else Tier.STANDARD
            since = now - timedelta(days=rng.randrange(30, 3650))
            name = _name(rng, language)
            writer.add(
                customer_t,
                {
                    "id": cid,
                    "name": name,
                    "tier": tier,
                    "segment": rng.choice(("consumer", "consumer", "smb")),
                    "language": language,
                    "time_zone": templates[template],
                    "email": f"customer{cid}@example.com",
                    "created_at": since,
                },
            )
            primary = ""
            for k in range(1 if rng.random() < 0.7 else 2):
                number = _phone(rng, template if k == 0 else rng.choice(list(templates)))
                primary = primary or number
                writer.add(
                    phone_t,
                    {
                        "customer_id": cid,
                        "e164": number,
                        "kind": "mobile" if k == 0 else "home",
                        "is_primary": k == 0,
                    },
                )
            currency = {"US": "USD", "CN": "CNY", "GB": "GBP", "HK": "HKD", "SG": "SGD", "AU": "AUD"}.get(region, "EUR")
            writer.add(
                account_t,
                {
                    "customer_id": cid,
                    "account_number": f"{10_000_000 + cid}",
                    "status": "active",
                    "plan": rng.choice(_PLANS),
                    "balance": Decimal(rng.randrange(-5000, 30000)) / 100,
                    "currency": currency,
                    "pin_hash": hash_secret(DEMO_PIN, n=DEMO_PIN_COST),
                    "opened_at": since,
                },
            )
            contact_ids = []
            for _ in range(rng.choice((0, 1, 2, 3, 4, 6))):
                contact_id = ids[Contact]
                ids[Contact] += 1
                contact_ids.append(contact_id)
                started = now - timedelta(minutes=rng.randrange(60, 365 * 24 * 60))
                channel = rng.choice(
                    (
                        Channel.VOICE_IN,
                        Channel.VOICE_IN,
                        Channel.VOICE_IN,
                        Channel.EMAIL,
                        Channel.CHAT,
                        Channel.VOICE_OUT,
                        Channel.STORE,
                    )
                )
                queue = rng.choice(queues) if queues else None
                writer.add(
                    contact_t,
                    {
                        "id": contact_id,
                        "customer_id": cid,
                        "channel": channel,
                        "started_at": started,
                        "ended_at": started + timedelta(seconds=rng.randrange(60, 900)),
                        "agent_id": rng.choice(agent_ids) if agent_ids else None,
                        "queue": queue,
                        "cti_call_id": None,
                        "ivr_data": {},
                        "disposition": rng.choice(_DISPOSITIONS),
                        "notes": None,
                        "summary": rng.choice(_SUMMARIES.get(queue or "", ("Customer enquiry",))),
                        "work_item_id": None,
                    },
                )
            if contact_ids and rng.random() < 0.3:
                product, price = rng.choice(_PRODUCTS)
                writer.add(
                    order_t,
                    {
                        "customer_id": cid,
                        "contact_id": rng.choice(contact_ids),
                        "work_item_id": None,
                        "product": product,
                        "quantity": 1,
                        "amount": Decimal(price),
                        "currency": currency,
                        **_in_state(shipped().for_order(),
                                    rng.choice(("submitted", "in_progress", "completed", "completed"))),
                        "external_ref": None,
                        "created_at": now - timedelta(days=rng.randrange(1, 90)),
                        "updated_at": now,
                    },
                )
            if contact_ids and rng.random() < 0.25:
                category, summary = rng.choice(_REQUESTS)
                writer.add(
                    request_t,
                    {
                        "customer_id": cid,
                        "contact_id": rng.choice(contact_ids),
                        "work_item_id": None,
                        "category": category,
                        "summary": summary,
                        "details": None,
                        "priority": rng.choice(("normal", "normal", "high")),
                        **_in_state(shipped().for_request(category), rng.choice(("open", "in_progress", "closed"))),
                        "external_ref": None,
                        "created_at": now - timedelta(days=rng.randrange(1, 60)),
                        "closed_at": None,
                    },
                )
            for month in range(rng.choice((1, 2, 3))):
                amount = Decimal(rng.randrange(1500, 15000)) / 100
                writer.add(
                    comm_t,
                    {
                        "customer_id": cid,
                        "kind": "bill",
                        "channel": rng.choice(("email", "post", "app")),
                        "subject": f"Your bill: {amount} {currency}",
                        "amount": amount,
                        "currency": currency,
                        "sent_at": now - timedelta(days=30 * month + rng.randrange(1, 28)),
                    },
                )
            target, phone = _target(rng, tier, activity, outbound, primary)
            if target is not None:
                writer.add(item_t, _work_item(ids[WorkItem], target, cid, phone, 1 if tier is Tier.VIP else 0, now))
                ids[WorkItem] += 1
            if progress and (n + 1) % 10_000 == 0:
                progress(n + 1)
        writer.flush_all()
        _advance_sequences(connection)
    counts = writer.counts
    return SeedReport(
        customers=counts.get("customer", 0),
        contacts=counts.get("contact", 0),
        orders=counts.get("customer_order", 0),
        service_requests=counts.get("service_request", 0),
        communications=counts.get("communication", 0),
        agents=extra.get("agents", 0),
        work_items=counts.get("work_item", 0),
    )
