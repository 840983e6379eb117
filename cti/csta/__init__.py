"""CSTA XML (ECMA-269 services in ECMA-323 encoding) over the vendors' length-framed TCP: sans-I/O
codec (:mod:`.codec`), event mapping to the normalized model (:mod:`.mapper`) and the TCP link
(:mod:`.client`)."""
