"""CTI decode benchmark: AMI, CSTA and modem decode rates, and memory per 10,000 live calls.

``python -m bench.cti_decode [--quick] [--json]`` prints the figures; ``python -m bench`` calls
``run()``. The AMI capture is the recorded inbound-queue transcript repeated with fresh channel ids;
panoramisk's parser (``Message.from_line`` after its ``data_received`` framing), when installed,
decodes the same bytes in the same run.

AMI rows: "codec" frames and validates every message; "every header split out" also splits every
header of every message into its name and value strings (``AmiMessage.fields``), the fully parsed
figure compared with panoramisk (the issue's goal: at least 2x); "header pairs + case-insensitive
index" additionally builds ``(name, value)`` tuples and the lower-cased look-up dict, what a
panoramisk message holds (our codec builds those lazily, on first use).
"""

from __future__ import annotations

import argparse
import gc
import json
import re
import struct
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path

from cti.ami.codec import AmiDecoder, AmiMessage
from cti.ami.mapper import AmiMapper
from cti.csta.codec import CstaDecoder
from cti.decode import stream_decoder
from cti.model import CallTracker

Row = tuple[str, float, str]
FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "cti"
CHUNK = 64 * 1024


def _chunks(data: bytes, size: int = CHUNK) -> Iterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


def ami_capture(calls: int) -> bytes:
    """The recorded inbound call ``calls`` times over, each with its own Uniqueid/Linkedid."""
    text = (FIXTURES / "ami_inbound_queue.ami").read_bytes()
    banner, _, body = text.partition(b"\r\n")
    ids = re.compile(rb"17000000(\d\d)\.(\d\d)")
    parts = [banner + b"\r\n"]
    for n in range(calls):

        def fresh(m: re.Match[bytes], n: int = n) -> bytes:
            return b"%d.%s" % (1_800_000_000 + n * 100 + int(m.group(1)), m.group(2))

        parts.append(ids.sub(fresh, body))
    return b"".join(parts)


def csta_capture(calls: int) -> bytes:
    data = (FIXTURES / "csta_transfer.csta").read_bytes()
    frames: list[bytes] = []
    pos = 0
    while pos < len(data):
        length = struct.unpack_from(">I", data, pos)[0]
        frames.append(data[pos : pos + length])
        pos += length
    out: list[bytes] = []
    ids = re.compile(rb"<callID>34(\d\d)</callID>")
    for n in range(calls):

        def fresh(m: re.Match[bytes], n: int = n) -> bytes:
            return b"<callID>%d</callID>" % (n * 100 + int(m.group(1)))

        for f in frames:
            body = ids.sub(fresh, f[8:])
            out.append(struct.pack(">I", len(body) + 8) + f[4:8] + body)
    return b"".join(out)


def modem_capture(rounds: int) -> bytes:
    return (FIXTURES / "modem_callerid.txt").read_bytes() * rounds + (
        FIXTURES / "smdr_ipoffice.txt"
    ).read_bytes() * rounds


def _best(fn: Callable[[], int], repeat: int) -> tuple[float, int]:
    """Best CPU time of ``repeat`` runs and the count the function reports."""
    best, count = float("inf"), 0
    for _ in range(repeat):
        gc.collect()
        t0 = time.process_time()
        count = fn()
        best = min(best, time.process_time() - t0)
    return best, count


def _ours_codec(data: bytes) -> int:
    decoder = AmiDecoder()
    n = 0
    for chunk in _chunks(data):
        for event in decoder.feed(chunk):
            if isinstance(event, AmiMessage) and event.kind == "event":
                n += 1
    return n


def _ours_all_headers(data: bytes) -> int:
    """Every header of every message split into its name and value (``AmiMessage.fields``)."""
    decoder = AmiDecoder()
    n = 0
    for chunk in _chunks(data):
        for event in decoder.feed(chunk):
            if isinstance(event, AmiMessage) and event.fields and event.kind == "event":
                n += 1
    return n


def _ours_pairs_and_index(data: bytes) -> int:
    """As panoramisk's messages: (name, value) pairs and a case-insensitive index, for every message."""
    decoder = AmiDecoder()
    n = 0
    for chunk in _chunks(data):
        for event in decoder.feed(chunk):
            if isinstance(event, AmiMessage) and event.headers and event.get("event") is not None:
                n += 1
    return n


def _ours_normalized(data: bytes) -> int:
    decoder, mapper = AmiDecoder(), AmiMapper(clock=lambda: 0.0)
    n = 0
    for chunk in _chunks(data):
        for event in decoder.feed(chunk):
            if isinstance(event, AmiMessage):
                n += len(mapper.map(event))
    return n


def _panoramisk(data: bytes) -> int | None:
    try:
        from panoramisk.message import Message  # type: ignore[import-untyped]
    except ImportError:
        return None
    eol2 = "\r\n\r\n"
    pending = ""
    n = 0
    for chunk in _chunks(data):  # what AMIProtocol.data_received does with each read
        text = pending + chunk.decode("ascii", "ignore")
        lines = text.split(eol2)
        pending = lines.pop(-1)
        for line in lines:
            message = Message.from_line(line.strip())
            if message is not None and "Event" in message:
                n += 1
    return n


def _memory_per_10k(calls: int) -> tuple[float, float]:
    """Bytes held by the AMI mapper and by a CallTracker for ``calls`` live two-leg calls, per 10,000."""
    msgs: list[AmiMessage] = []
    for i in range(calls):
        uid = f"1900000000.{i}"
        for leg, chan in ((uid, f"PJSIP/trunk-{i:08x}"), (f"{uid}b", f"PJSIP/{1000 + i % 500}-{i:08x}")):
            msgs.append(
                AmiMessage.build(
                    [
                        ("Event", "Newchannel"),
                        ("Channel", chan),
                        ("ChannelState", "6"),
                        ("CallerIDNum", "+14155550100"),
                        ("Exten", "800"),
                        ("Uniqueid", leg),
                        ("Linkedid", uid),
                    ]
                )
            )
    for m in msgs:
        m.get("Event")  # the messages' own header index is not the mapper's memory
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    mapper = AmiMapper(clock=lambda: 0.0)
    tracker = CallTracker()
    events = []
    for m in msgs:
        events.extend(mapper.map(m))
    mapper_bytes = tracemalloc.get_traced_memory()[0] - base
    mid = tracemalloc.get_traced_memory()[0]
    for e in events:
        tracker.apply(e)
    tracker_bytes = tracemalloc.get_traced_memory()[0] - mid
    tracemalloc.stop()
    assert mapper.live_calls == calls and len(tracker) == calls
    scale = 10_000 / calls
    return mapper_bytes * scale, tracker_bytes * scale


def run(quick: bool = False) -> list[Row]:
    calls = 300 if quick else 4000
    repeat = 1 if quick else 3
    rows: list[Row] = []

    ami = ami_capture(calls)
    t_codec, n_codec = _best(lambda: _ours_codec(ami), repeat)
    rows.append(("AMI capture size", len(ami) / 1e6, "MB"))
    rows.append(("AMI decode (codec: framing, validation), events", n_codec / t_codec, "events/s"))
    t_all, _ = _best(lambda: _ours_all_headers(ami), repeat)
    rows.append(("AMI decode, every header split out, events", n_codec / t_all, "events/s"))
    t_norm, n_norm = _best(lambda: _ours_normalized(ami), repeat)
    rows.append(("AMI decode + normalize, AMI events in", n_codec / t_norm, "events/s"))
    rows.append(("AMI normalized events out", n_norm / t_norm, "events/s"))
    pano = _panoramisk(ami)
    if pano is None:
        rows.append(("panoramisk parser: not installed (pip install panoramisk)", 0.0, "events/s"))
    else:
        t_pano, n_pano = _best(lambda: _panoramisk(ami) or 0, repeat)
        rows.append(("panoramisk parser, same bytes, events", n_pano / t_pano, "events/s"))
        rows.append(("AMI codec speed-up over panoramisk", t_pano / t_codec, "x"))
        rows.append(("AMI speed-up over panoramisk, every header split out", t_pano / t_all, "x"))
        t_pairs, _ = _best(lambda: _ours_pairs_and_index(ami), repeat)
        rows.append(("AMI decode, header pairs + case-insensitive index, events", n_codec / t_pairs, "events/s"))
        rows.append(("AMI speed-up over panoramisk, header pairs + index", t_pano / t_pairs, "x"))

    csta = csta_capture(calls)
    t_csta, n_frames = _best(lambda: sum(1 for _ in CstaDecoder().feed(csta)), repeat)
    rows.append(("CSTA decode (codec), frames", n_frames / t_csta, "frames/s"))

    def csta_norm() -> int:
        decoder = stream_decoder("csta", clock=lambda: 0.0)
        return sum(len(decoder.feed(c)) for c in _chunks(csta)) + len(decoder.feed(b""))

    t_cn, n_cn = _best(csta_norm, repeat)
    rows.append(("CSTA decode + normalize, frames in", n_frames / t_cn, "frames/s"))
    rows.append(("CSTA normalized events out", n_cn / t_cn, "events/s"))

    modem = modem_capture(calls // 4 or 1)
    lines = modem.count(b"\n")

    def modem_norm() -> int:
        decoder = stream_decoder("modem", clock=lambda: 0.0)
        return sum(len(decoder.feed(c)) for c in _chunks(modem)) + len(decoder.feed(b""))

    t_m, n_m = _best(modem_norm, repeat)
    rows.append(("modem/SMDR decode + normalize, lines", lines / t_m, "lines/s"))
    rows.append(("modem/SMDR normalized events out", n_m / t_m, "events/s"))

    mapper_bytes, tracker_bytes = _memory_per_10k(2000 if quick else 10_000)
    rows.append(("memory per 10,000 live calls, AMI mapper (2 legs each)", mapper_bytes / 2**20, "MiB"))
    rows.append(("memory per 10,000 live calls, CallTracker snapshots", tracker_bytes / 2**20, "MiB"))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cti_decode", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    rows = run(quick=args.quick)
    if args.json:
        print(json.dumps([{"figure": f, "value": v, "unit": u} for f, v, u in rows], indent=2))
    else:
        for figure, value, unit in rows:
            print(f"{figure:<58} {value:>14,.1f}  {unit}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
