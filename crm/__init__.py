"""Customer data model and its repository functions.

SQLAlchemy 2 models for customers, phone numbers (E.164), accounts, contacts, orders, service
requests, communications, campaigns down to work items and attempts, do-not-call entries and
consent, agents with skills, and queues; Alembic migrations; the look-ups the other packages call
(customer by phone or account, the customer 360 view; ``crm.repository``, one module per concern);
demo data; campaigns (``crm.campaigns``): the BI file interface, the typed campaign rules and the one
eligibility function the dialer, the agents' preview and inbound offers share. Imports nothing of ours.
"""
