"""GatewaySMTP._read_data takes the buffered lines as one block; it must answer exactly as the plain
line-by-line reader below (the form it replaced) on every input and every way the input arrives:
same content, same problem, same bytes left in the reader, same keep-alive resets, same slow-drip cut.
"""

from __future__ import annotations

import asyncio
import itertools
import random
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest

from gateway.smtp.server import R_DATA_TOO_BIG, R_DATA_TOO_SLOW, R_LINE_TOO_LONG, GatewaySMTP


async def reference_read_data(self: Any) -> tuple[bytes, str | None]:
    """The line-by-line reader (gateway/smtp/server.py before the block reader), kept as the oracle."""
    config = self.shared.config
    limit, max_size = config.max_line_length, config.max_message_size
    reader = self._reader
    loop = asyncio.get_running_loop()
    data = bytearray()
    problem: str | None = None
    at_crlf_start = True
    continuation = False
    chunk_ended_cr = False
    started = last_reset = loop.time()
    keepalive = config.timeout / 4
    while True:
        try:
            seg = await reader.readuntil(b"\n")
        except asyncio.LimitOverrunError as e:
            chunk = await reader.readexactly(e.consumed)
            chunk_ended_cr = chunk.endswith(b"\r")
            problem = problem or R_LINE_TOO_LONG.format(limit)
            data = bytearray()
            continuation = True
            at_crlf_start = False
            continue
        if not continuation and at_crlf_start and seg == b".\r\n":
            break
        if continuation:
            continuation = False
        elif len(seg) > limit:
            problem = problem or R_LINE_TOO_LONG.format(limit)
        if problem is None:
            if at_crlf_start and seg[:1] == b".":
                data += memoryview(seg)[1:]
            else:
                data += seg
            if len(data) > max_size:
                problem = R_DATA_TOO_BIG
                data = bytearray()
        at_crlf_start = seg.endswith(b"\r\n") or (seg == b"\n" and chunk_ended_cr)
        chunk_ended_cr = False
        now = loop.time()
        if now - started > config.max_data_seconds:
            return b"", R_DATA_TOO_SLOW
        if now - last_reset > keepalive:
            self._reset_timeout()
            last_reset = now
    if problem is not None:
        return b"", problem
    return bytes(data), None


@dataclass
class Outcome:
    result: tuple[bytes, str | None] | str  # (content, problem) or the exception's type name
    left: bytes  # what the reader still holds once everything has arrived
    resets: list[float] = field(default_factory=list)  # fake-clock times of the keep-alive resets


async def run(
    read: Any,
    stream: bytes,
    cuts: list[int],
    pauses: list[int],
    *,
    limit: int,
    max_size: int,
    steps: list[float] | None = None,
    max_data_seconds: float = 1e9,
    timeout: float = 300.0,
) -> Outcome:
    """Feed `stream` cut at `cuts` into a real StreamReader, with `pauses[i]` loop turns after piece i
    (and the fake clock moved on by steps[i]), while `read` reads it."""
    loop = asyncio.get_running_loop()
    clock = [1000.0]
    reader = asyncio.StreamReader(limit=limit)
    resets: list[float] = []
    config = SimpleNamespace(
        max_line_length=limit, max_message_size=max_size, timeout=timeout, max_data_seconds=max_data_seconds
    )
    fake = SimpleNamespace(
        shared=SimpleNamespace(config=config), _reader=reader, _reset_timeout=lambda: resets.append(clock[0])
    )
    bounds = [0, *cuts, len(stream)]
    pieces = [stream[a:b] for a, b in itertools.pairwise(bounds)]

    async def feed() -> None:
        for i, piece in enumerate(pieces):
            if steps is not None:
                clock[0] += steps[i % len(steps)]
            reader.feed_data(piece)
            for _ in range(pauses[i % len(pauses)]):
                await asyncio.sleep(0)
        reader.feed_eof()

    loop.time = lambda: clock[0]  # type: ignore[method-assign]
    try:
        feeder = asyncio.ensure_future(feed())
        try:
            result: tuple[bytes, str | None] | str = await read(fake)
        except Exception as e:
            result = type(e).__name__
        await feeder
    finally:
        del loop.time  # type: ignore[method-assign]
    return Outcome(result, bytes(reader._buffer), resets)  # type: ignore[attr-defined]


PIECES = [b"a", b"xyz", b".", b"..", b"\r", b"\n", b"\r\n", b"\r\n", b"\r\n", b".\r\n", b"\r\n.\r\n", b"\n.\n", b" "]


def random_stream(rng: random.Random, limit: int) -> bytes:
    parts: list[bytes] = []
    for _ in range(rng.randrange(0, 60)):
        r = rng.random()
        if r < 0.08:
            parts.append(b"L" * rng.randrange(limit - 3, limit * 3 + 3))  # around and over the limit
        elif r < 0.12:
            parts.append(b"." + b"d" * rng.randrange(limit - 3, limit + 3) + rng.choice([b"\r\n", b"\n", b"\r"]))
        else:
            parts.append(rng.choice(PIECES))
    if rng.random() < 0.9:
        parts.append(b"\r\n.\r\n")
    if rng.random() < 0.5:
        parts.append(rng.choice([b"QUIT\r\n", b"MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\n", b".\r\n"]))
    return b"".join(parts)


def random_cuts(rng: random.Random, n: int) -> list[int]:
    if n == 0:
        return []
    style = rng.random()
    if style < 0.3:
        return []
    if style < 0.6:
        return sorted(rng.sample(range(1, n + 1), min(n, rng.randrange(1, 8))))
    step = rng.randrange(1, 9)
    return list(range(step, n, step))


async def compare(read_new: Any, stream: bytes, cuts: list[int], pauses: list[int], **kw: Any) -> Outcome:
    expected = await run(reference_read_data, stream, cuts, pauses, **kw)
    got = await run(read_new, stream, cuts, pauses, **kw)
    assert got == expected, (stream, cuts, pauses, kw)
    return got


async def test_random_messages_in_random_pieces_agree_with_the_line_reader() -> None:
    rng = random.Random(20261205)
    seen: set[str | None] = set()
    for _ in range(3000):
        limit = rng.choice([4, 6, 9, 16, 40, 100])
        stream = random_stream(rng, limit)
        max_size = rng.choice([10**9, rng.randrange(1, 400)])
        cuts = random_cuts(rng, len(stream))
        pauses = [rng.randrange(0, 3) for _ in range(5)]
        out = await compare(GatewaySMTP._read_data, stream, cuts, pauses, limit=limit, max_size=max_size)
        seen.add(out.result[1] if isinstance(out.result, tuple) else out.result)
    # Every kind of ending came up.
    assert {None, R_DATA_TOO_BIG, "IncompleteReadError"} <= seen
    assert any(s and s.startswith("552 5.3.4 Message line too long") for s in seen)


@pytest.mark.parametrize("limit", [6, 1001])
async def test_terminator_split_at_every_offset(limit: int) -> None:
    """The end of data (and dots, bare CR/LF, an over-long line) cut into two or three reads at every offset."""
    streams = [
        b"Subject: x\r\n\r\n..dot\r\n.\r\n",
        b"a\r\n\r\n.\r\nQUIT\r\n",
        b"a\n.\r\nb\r\n.\r\n",  # a dot after a bare LF is content, and so is that `.` CRLF
        b"a\r.\r\nb\r\n.\r\n",
        b"x" * 12 + b"\r\n.\r\nNOOP\r\n",  # over-long right before the end (when the limit is 6)
        b"y" * 7 + b"\r\r\n.\r\n",
        b".\r\n",
        b"..\r\n.\r\n",
        b"\r\n.\r\n.\r\n",
    ]
    for stream in streams:
        for i in range(1, len(stream)):
            await compare(GatewaySMTP._read_data, stream, [i], [1], limit=limit, max_size=10**6)
            for j in range(i + 1, len(stream)):
                await compare(GatewaySMTP._read_data, stream, [i, j], [0, 1], limit=limit, max_size=10**6)


async def test_exact_line_length_boundary() -> None:
    for limit in (5, 8, 1001):
        for n in range(limit - 3, limit + 3):
            for end in (b"\r\n", b"\n"):
                for dot in (b"", b"."):
                    stream = b"h\r\n" + dot + b"z" * n + end + b"tail\r\n.\r\n"
                    for cuts in ([], [2], [len(stream) - 4]):
                        await compare(GatewaySMTP._read_data, stream, cuts, [1], limit=limit, max_size=10**6)


async def test_size_limit_against_a_long_line_in_the_same_block() -> None:
    """Which comes first in line order decides: the size limit, or the over-long line."""
    for max_size in range(0, 30):
        stream = b"0123456789\r\n.abcdefgh\r\n" + b"L" * 40 + b"\r\nend\r\n.\r\n"
        out = await compare(GatewaySMTP._read_data, stream, [], [1], limit=20, max_size=max_size)
        assert out.result[1] == (R_DATA_TOO_BIG if max_size < 22 else R_LINE_TOO_LONG.format(20))


async def test_keepalive_and_slow_drip_agree_with_the_line_reader() -> None:
    """With a fake clock that moves between reads: the same resets at the same times, the same cut."""
    rng = random.Random(7)
    cut_seen = False
    for _ in range(800):
        stream = random_stream(rng, 16)
        cuts = random_cuts(rng, len(stream))
        steps = [rng.choice([0.0, 0.5, 2.0, 30.0]) for _ in range(4)]
        out = await compare(
            GatewaySMTP._read_data,
            stream,
            cuts,
            [rng.randrange(0, 3)],
            limit=16,
            max_size=10**6,
            steps=steps,
            timeout=8.0,
            max_data_seconds=rng.choice([1.0, 20.0, 1e9]),
        )
        cut_seen = cut_seen or (isinstance(out.result, tuple) and out.result[1] == R_DATA_TOO_SLOW)
    assert cut_seen


async def test_a_big_base64_message_in_network_sized_reads() -> None:
    import base64

    rng = random.Random(3)
    body = base64.encodebytes(rng.randbytes(300_000)).replace(b"\n", b"\r\n")
    stream = b"Subject: att\r\n\r\n" + body + b".leading dot\r\n.\r\nQUIT\r\n"
    cuts = [*range(65536, len(stream), 65536), len(stream) - 3]
    out = await compare(GatewaySMTP._read_data, stream, sorted(set(cuts)), [1], limit=1001, max_size=10**7)
    assert out.result == (b"Subject: att\r\n\r\n" + body + b"leading dot\r\n", None)
    assert out.left == b"QUIT\r\n"
