"""Telephony link: the normalized call model, protocol codecs, transports and the simulated PBX.

Codecs (Asterisk AMI, CSTA XML, serial caller-ID/AT/SMDR) are sans-I/O: bytes in, normalized events
out; commands in, bytes out. Sockets and serial ports live in thin drivers around them. The desktop,
IVR and ACD see only the normalized model and never know which telephone system is behind it.
"""
