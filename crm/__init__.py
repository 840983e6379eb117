"""Customer data model and its repository functions.

SQLAlchemy 2 models for customers, phone numbers (E.164), accounts, contacts, orders, service
requests, communications, campaigns down to work items and attempts, do-not-call entries and
consent, agents with skills, and queues; Alembic migrations; the look-ups the other packages call
(customer by phone or account, the customer 360 view); demo data; the BI campaign file interface.
Imports nothing of ours.
"""
