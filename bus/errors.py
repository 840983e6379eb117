"""Errors of the event bus."""


class BusError(Exception):
    """Root of the bus errors."""


class BrokerUnavailable(BusError):
    """The MQTT broker cannot be reached or refused the connection."""


class MessageError(BusError):
    """A payload that is not a valid message (bad JSON, unknown type, missing field)."""
