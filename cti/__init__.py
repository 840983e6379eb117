"""Telephony link: the normalized call model, protocol codecs, transports and the simulated PBX.

Codecs (Asterisk AMI, CSTA XML, serial caller-ID/AT/SMDR) are sans-I/O: bytes in, normalized events
out; commands in, bytes out. Sockets and serial ports live in thin drivers around them. The desktop,
IVR and ACD see only the normalized model and never know which telephone system is behind it.

Layout: :mod:`cti.model` (normalized vocabulary, :class:`~cti.model.Capability`,
:class:`~cti.model.CallTracker`), :mod:`cti.link` (the async :class:`~cti.link.CtiLink` interface
and :func:`~cti.link.dispatch` for bus commands), :mod:`cti.sim` (the simulated PBX),
:mod:`cti.ami`, :mod:`cti.csta`, :mod:`cti.serial` (codecs, mappers, drivers), :mod:`cti.url`
(link URLs), :mod:`cti.gateway` (a link bridged to the bus), :mod:`cti.decode` (captures to
normalized events). See docs/cti.md.
"""
