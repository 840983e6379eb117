"""IVR flow engine: flows defined as data (YAML under ``resources/ivr``).

The engine is sans-I/O: it takes call events (started, digits, timeout) and the answers to its
look-up requests, and returns actions (play, collect, transfer with attached data) and requests.
Drivers do the I/O: a FastAGI server lets Asterisk run the flows; ``ivr try`` and the demo run
them in-process.

Modules: :mod:`ivr.flow` (flow model, YAML loader, validation), :mod:`ivr.engine` (the sans-I/O
session and its requests), :mod:`ivr.ports` (answering requests from the look-up ports),
:mod:`ivr.attached` (attached data: schema, provenance, ``call.data``), :mod:`ivr.record`
(session records, containment rate), :mod:`ivr.lookup` (the customer look-up protocol and the
in-memory demo data), :mod:`ivr.crm_lookup` (look-ups on the ``crm`` database, through
:mod:`crm.ivr_data`), :mod:`ivr.rest` (REST look-ups), :mod:`ivr.sensitive` (masking),
:mod:`ivr.agi` (the AGI codec), :mod:`ivr.fastagi` (the FastAGI server), :mod:`ivr.inprocess`
(the in-process driver, scripted callers), :mod:`ivr.reporting` (session records into the
database). The flow format and the engine/driver split are documented in ``docs/ivr.md``.
"""
