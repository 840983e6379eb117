"""baresip softphones through their ``ctrl_tcp`` module: the ``baresip://host:port`` link (see docs/sip.md)."""
