"""ACD routing, outbound dialer pacing, service-level statistics, staffing mathematics, simulator.

The ACD engine and the dialer are sans-I/O: events in, decisions out, time passed in as a value, so
the simulator runs the very same code in simulated time.

Modules: :mod:`routing.model` (states, queue configuration, events in, decisions out),
:mod:`routing.engine` (the ACD engine, statistics, explanations, reconciliation),
:mod:`routing.erlang` (Erlang B, C and A, agents required), :mod:`routing.scenario` and
:mod:`routing.simulate` (scenarios and the discrete-event simulator), :mod:`routing.errors`.
See docs/routing.md.
"""
