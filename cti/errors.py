"""Errors of the telephony link. Messages are written for the person who has to act on them.

``LocalProtocolError`` means *we* were about to break the protocol (a value with CR/LF for an AMI
header, an AT command with control characters, a command the link cannot carry);
``RemoteProtocolError`` means the PBX or device broke it. Codecs never raise out of ``feed()`` /
``receive_data()``: what the remote side sends wrong is reported as an event and skipped.
"""

from __future__ import annotations


class CtiError(Exception):
    """Root of the telephony link's errors."""


class LocalProtocolError(CtiError):
    """We were asked to send something the protocol cannot carry (refused before any byte is sent)."""


class RemoteProtocolError(CtiError):
    """The PBX or device sent something that breaks the protocol."""


class UnsupportedCommand(CtiError):
    """The link has no capability for this command (see ``CtiLink.capabilities``)."""


class CommandFailed(CtiError):
    """The PBX refused or failed a command (its own reason is in the message)."""


class LinkUnavailable(CtiError):
    """The link is not connected, or cannot reach the PBX or device."""


class BadLinkUrl(CtiError):
    """A link URL that cannot be used (unknown scheme, missing host, bad option)."""
