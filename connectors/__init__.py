"""Connectors to the systems around the center: the operator's order and billing systems (BOSS/BSS).

Over HTTP (``requests``) with timeouts, retries with jittered backoff, idempotency keys and a
circuit breaker (:mod:`.http`, :mod:`.breaker`); field mapping per connector in configuration
(:mod:`.config`); the durable outbox's delivery (:mod:`.outbox`). May import ``crm`` and ``bus``.
"""
