"""Message types and transports of the event bus.

Messages are frozen dataclasses that carry ``type`` and ``v`` (schema version) and round-trip
through JSON; topics follow DESIGN.md's scheme and are built and parsed only in :mod:`bus.topics`.
Two transports sit behind one small interface: an in-process bus (the embedded default) and MQTT
on aiomqtt (production). :mod:`bus.reconnect` is the reconnect driver of every link that
reconnects (the MQTT transport and the CTI links). Imports nothing of ours.
"""
