"""IVR flow engine: flows defined as data (YAML under ``resources/ivr``).

The engine is sans-I/O: it takes call events (started, digits, timeout) and returns actions
(play, collect, transfer with attached data). A FastAGI adapter lets Asterisk run the same flows;
on the simulated PBX they run in-process.

Modules: :mod:`ivr.flow` (flow model, YAML loader, validation), :mod:`ivr.engine` (the sans-I/O
session), :mod:`ivr.attached` (attached data: schema, provenance, ``call.data``), :mod:`ivr.record`
(session records, containment rate), :mod:`ivr.lookup` (the customer look-up protocol and the
in-memory demo data), :mod:`ivr.crm_lookup` (look-ups on the ``crm`` database), :mod:`ivr.rest`
(REST look-ups), :mod:`ivr.sensitive` (masking), :mod:`ivr.agi` (the AGI codec),
:mod:`ivr.fastagi` (the FastAGI server), :mod:`ivr.inprocess` (scripted callers). The flow format
is documented in ``docs/ivr.md``.
"""
