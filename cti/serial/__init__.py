"""Serial telephony hardware: caller-ID modems, AT soft-dialing, PBX call-record (SMDR) ports.

Sans-I/O parsers (:mod:`.modem`, :mod:`.smdr`) and the pyserial driver (:mod:`.link`)."""
