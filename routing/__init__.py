"""ACD routing, outbound dialer pacing, service-level statistics, staffing mathematics, simulator.

The ACD engine and the dialer are sans-I/O: events in, decisions out, time passed in as a value, so
the simulator runs the very same code in simulated time.
"""
