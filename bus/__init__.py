"""Message types and transports of the event bus.

Messages are frozen dataclasses that carry ``type`` and ``v`` (schema version) and round-trip
through JSON; topics follow DESIGN.md's scheme. Two transports sit behind one small interface: an
in-process bus (the embedded default) and MQTT on aiomqtt (production). Imports nothing of ours.
"""
