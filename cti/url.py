"""Link URLs → links: ``sim://``, ``ami://user:secret@host:5038``, ``csta://host:port?devices=...``,
``serial:///dev/ttyUSB0?baud=9600`` (and ``serial+loop://``, ``serial+socket://host:port``),
``baresip://host:4444?extension=1001`` (an agent's baresip softphone, through its ``ctrl_tcp`` module)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from .errors import BadLinkUrl
from .link import CtiLink

SCHEMES = ("sim", "ami", "csta", "serial", "baresip")


def open_link(url: str) -> CtiLink:
    """The (not yet connected) link for ``url``; raises :class:`BadLinkUrl` for what cannot be used."""
    scheme = urlsplit(url).scheme
    if scheme == "sim":
        from .sim import SimLink, SimPbx

        q = {k: v[-1] for k, v in parse_qs(urlsplit(url).query).items()}
        try:
            first, count = int(q.pop("first", "1001")), int(q.pop("extensions", "10"))
            trunks = int(q.pop("trunks", "8"))
        except ValueError as exc:
            raise BadLinkUrl(f"sim link URL {url!r}: {exc}") from None
        if q:
            raise BadLinkUrl(f"sim link URL {url!r}: options are first, extensions and trunks")
        pbx = SimPbx(extensions=[str(n) for n in range(first, first + count)], trunks=trunks)
        return SimLink(pbx, realtime=True)
    if scheme == "ami":
        from .ami.client import AmiLink

        return AmiLink.from_url(url)
    if scheme == "csta":
        from .csta.client import CstaLink

        return CstaLink.from_url(url)
    if scheme == "serial" or scheme.startswith("serial+"):
        from .serial.link import SerialLink

        return SerialLink.from_url(url)
    if scheme == "baresip":
        from .baresip.link import BaresipLink

        return BaresipLink.from_url(url)
    raise BadLinkUrl(
        f"unknown link URL {url!r}: use sim://, ami://user:secret@host:5038, csta://host:port, "
        "serial:///dev/ttyUSB0?baud=9600 or baresip://127.0.0.1:4444"
    )
