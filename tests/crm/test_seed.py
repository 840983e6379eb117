from zoneinfo import ZoneInfo

import phonenumbers
from sqlalchemy import Engine, func, select

from crm import db, repository
from crm.models import Account, Agent, Customer, PhoneNumber, Queue, Tier, WorkItem
from crm.seed import DEMO_PASSWORD, DEMO_PIN, seed


def test_seed_makes_realistic_consistent_data(engine: Engine) -> None:
    report = seed(engine, customers=400, random_seed=3)
    assert report.customers == 400
    assert report.agents >= 8 and report.contacts > 400 and report.orders > 0 and report.work_items > 0
    factory = db.session_factory(engine)
    with factory() as s:
        customers = s.scalars(select(Customer)).all()
        assert len(customers) == 400
        assert {c.tier for c in customers} == {Tier.VIP, Tier.GOLD, Tier.STANDARD}
        assert any("\u4e00" <= c.name[0] <= "\u9fff" for c in customers), "Chinese names"
        assert any(c.name.isascii() for c in customers), "English names"
        assert len({c.time_zone for c in customers}) >= 5
        for number in s.scalars(select(PhoneNumber)).all():
            parsed = phonenumbers.parse(number.e164, None)
            assert phonenumbers.is_valid_number(parsed), number.e164
        for customer in customers[:50]:
            ZoneInfo(customer.time_zone)
        assert s.scalar(select(func.count()).select_from(Queue)) >= 5
        account = s.scalars(select(Account)).first()
        assert account is not None
        assert repository.verify_account_pin(s, account.account_number, DEMO_PIN)
        assert repository.authenticate_agent(s, "alice", DEMO_PASSWORD) is not None
        with_offer = s.scalar(select(WorkItem.customer_id))
        assert with_offer is not None
        assert repository.customer_360(s, with_offer).offers


def test_seeding_again_adds_customers_without_collisions(engine: Engine) -> None:
    seed(engine, customers=50)
    again = seed(engine, customers=50, random_seed=8)
    assert again.customers == 50 and again.agents == 0
    with db.session_factory(engine)() as s:
        assert s.scalar(select(func.count()).select_from(Customer)) == 100
        assert s.scalar(select(func.count()).select_from(Agent)) == 9


def test_the_product_adds_rows_after_seeding_without_id_collisions(engine: Engine) -> None:
    """Seeding writes its own ids; on PostgreSQL the id sequences must move past them."""
    from crm.models import Campaign

    seed(engine, customers=30)
    with db.transaction(db.session_factory(engine)) as s:
        new_customer = repository.create_customer(s, name="Grace Hopper", phone="+14155550177")
        s.add(Campaign(campaign_key="AFTER-SEED", name="After the seed"))
        s.flush()
        assert new_customer > 30
        assert s.scalar(select(func.count()).select_from(Campaign)) == 2
