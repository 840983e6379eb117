"""Asterisk Manager Interface: sans-I/O codec (:mod:`.codec`), event mapping to the normalized
model (:mod:`.mapper`) and the asyncio TCP link (:mod:`.client`)."""
