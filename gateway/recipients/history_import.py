"""Seed the recipient history (`gateway history import`), so that a new installation does not treat
every recipient as new on day one.

Postfix mail logs: a delivery is a `status=sent` line of an smtp/lmtp/local/virtual agent; its sender
is the qmgr `from=<...>` line with the same queue id. Traditional syslog dates (`Oct  3 10:15:01`,
no year: the current year, or last year for dates in the future) and RFC 3339 dates (Postfix 3.x
`2025-10-03T10:15:01.123456+09:00`) are read; `.gz` files are read as they are.

CSV: a header row with the columns `sender`, `recipient` and `sent_at` (names in any case and order,
other columns ignored); `recipient` may hold several addresses separated by `;`; `sent_at` is ISO 8601
(`2025-10-03T10:15:01+09:00`, `2025-10-03 10:15`, a date alone; no zone means local time) or Unix
seconds. Encoding UTF-8 (a BOM is fine).

Both report progress through an optional callback with the running counts, and return the counts.
No address is printed or logged.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import IO

from gateway.mail.addresses import AddressError, normalise_domain, parse_address
from gateway.recipients.domains import in_domain
from gateway.recipients.history import Delivery, RecipientHistory

_BATCH = 2000
_PROGRESS_EVERY = 50_000

_LINE = re.compile(
    r"^(?P<ts>[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)?)"
    r" \S+ (?P<prog>postfix[\w.-]*(?:/[\w.-]+)*)/(?P<svc>[\w-]+)\[\d+\]: (?P<qid>[0-9A-Za-z]+): (?P<rest>.*)$"
)
_FROM = re.compile(r"^from=<(?P<addr>[^>]*)>")
_TO = re.compile(r"^to=<(?P<addr>[^>]*)>,(?P<fields>.*)$")
_RELAY = re.compile(r"\brelay=(?P<relay>[^,\s]+)")
_STATUS = re.compile(r"\bstatus=(?P<status>[a-z]+)")
_DELIVERY_AGENTS = {"smtp", "lmtp", "local", "virtual", "pipe", "relay", "error", "discard"}


@dataclass
class ImportCounts:
    lines: int = 0  # lines read
    messages: int = 0  # qmgr from= lines (messages seen entering the active queue)
    deliveries: int = 0  # status=sent lines
    recorded: int = 0  # sender-recipient pairs written to the history
    not_sent: int = 0  # deferred / bounced / expired lines (not deliveries)
    skipped_no_sender: int = 0  # sent, but the from= line is not in the log (rotated away)
    skipped_null_sender: int = 0  # bounces and notices (from=<>)
    skipped_foreign_sender: int = 0  # sender outside the internal domains (incoming mail)
    skipped_relay: int = 0  # "sent" to an ignored relay (the gateway itself as content filter)
    skipped_invalid: int = 0  # addresses or rows that could not be read

    def to_json(self) -> dict[str, int]:
        return asdict(self)


Progress = Callable[[ImportCounts], None]


def _open_text(path: str | Path, encoding: str = "utf-8") -> IO[str]:
    p = Path(path)
    if p.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(p, "rb"), encoding=encoding, errors="replace", newline="")
    return open(p, encoding=encoding, errors="replace", newline="")


def _syslog_time(stamp: str, now: float) -> float:
    """'Oct  3 10:15:01' (local time, no year) -> unix time; a date in the future is last year's."""
    current = time.localtime(now).tm_year
    for year in (current, current - 1):
        t = time.mktime(time.strptime(f"{year} {stamp}", "%Y %b %d %H:%M:%S"))
        if t <= now + 86400:
            return t
    return t


def _parse_iso(text: str) -> float:
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return value.timestamp()  # naive -> local time


def _relay_endpoint(relay: str) -> str:
    """'127.0.0.1[127.0.0.1]:10025' -> '127.0.0.1:10025'; 'mx.example.com[192.0.2.1]:25' -> '192.0.2.1:25'."""
    m = re.fullmatch(r"(?P<name>[^\[]*)\[(?P<addr>[^\]]*)\](?::(?P<port>\d+))?", relay)
    if not m:
        return relay
    return f"{m['addr']}:{m['port']}" if m["port"] else m["addr"]


def _sender_ok(sender: str, internal: tuple[str, ...]) -> bool:
    domain = sender.rpartition("@")[2]
    return any(in_domain(domain, d) for d in internal)


def import_postfix_log(
    path: str | Path,
    history: RecipientHistory,
    *,
    internal_domains: Iterable[str] = (),
    ignore_relays: Iterable[str] = (),
    progress: Progress | None = None,
    now: float | None = None,
) -> ImportCounts:
    """Record every `status=sent` delivery of the log in `history`.

    internal_domains: if given, only mail from these senders (and subdomains) is imported, so that
        incoming mail on the same Postfix is not taken for outgoing.
    ignore_relays: 'HOST:PORT' next hops whose "sent" is not a delivery, e.g. the gateway itself
        as Postfix's content filter ('127.0.0.1:10025').
    """
    now = time.time() if now is None else now
    internal = tuple(normalise_domain(d) for d in internal_domains)
    ignored = {r.strip("[]") for r in ignore_relays} | {_relay_endpoint(r) for r in ignore_relays}
    counts = ImportCounts()
    senders: dict[str, str] = {}  # queue id -> normalised sender ("" = null sender)
    batch: list[Delivery] = []

    def flush() -> None:
        if batch:
            counts.recorded += history.record_many(batch)
            batch.clear()

    with _open_text(path) as f:
        for line in f:
            counts.lines += 1
            if progress is not None and counts.lines % _PROGRESS_EVERY == 0:
                flush()
                progress(counts)
            m = _LINE.match(line.rstrip("\r\n"))
            if not m:
                continue
            qid, rest, svc = m["qid"], m["rest"], m["svc"]
            if svc == "qmgr":
                if rest == "removed":
                    senders.pop(qid, None)
                    continue
                fm = _FROM.match(rest)
                if fm:
                    counts.messages += 1
                    raw = fm["addr"]
                    try:
                        senders[qid] = parse_address(raw).normalised if raw else ""
                    except AddressError:
                        senders[qid] = "!invalid"
                continue
            if svc not in _DELIVERY_AGENTS:
                continue
            tm = _TO.match(rest)
            if not tm:
                continue
            st = _STATUS.search(tm["fields"])
            if not st or st["status"] != "sent":
                counts.not_sent += 1
                continue
            counts.deliveries += 1
            relay = _RELAY.search(tm["fields"])
            if relay and ignored and (_relay_endpoint(relay["relay"]) in ignored or relay["relay"] in ignored):
                counts.skipped_relay += 1
                continue
            sender = senders.get(qid)
            if sender is None:
                counts.skipped_no_sender += 1
                continue
            if sender == "":
                counts.skipped_null_sender += 1
                continue
            if sender == "!invalid":
                counts.skipped_invalid += 1
                continue
            if internal and not _sender_ok(sender, internal):
                counts.skipped_foreign_sender += 1
                continue
            try:
                recipient = parse_address(tm["addr"]).normalised
                stamp = m["ts"]
                when = _parse_iso(stamp) if stamp[0].isdigit() else _syslog_time(stamp, now)
            except (AddressError, ValueError):
                counts.skipped_invalid += 1
                continue
            batch.append(Delivery(sender, (recipient,), when))
            if len(batch) >= _BATCH:
                flush()
    flush()
    if progress is not None:
        progress(counts)
    return counts


CSV_COLUMNS = ("sender", "recipient", "sent_at")


def _csv_rows(f: IO[str]) -> Iterator[dict[str, str]]:
    reader = csv.reader(f)
    header = next(reader, None)
    if header is None:
        return
    names = [h.strip().lower() for h in header]
    missing = [c for c in CSV_COLUMNS if c not in names]
    if missing:
        raise ValueError(f"CSV header lacks column(s): {', '.join(missing)} (needs {', '.join(CSV_COLUMNS)})")
    for row in reader:
        yield {n: (row[i] if i < len(row) else "") for i, n in enumerate(names)}


def _csv_time(text: str) -> float:
    text = text.strip()
    if re.fullmatch(r"\d+(?:\.\d+)?", text):
        return float(text)
    return _parse_iso(text)


def import_csv(
    path: str | Path,
    history: RecipientHistory,
    *,
    progress: Progress | None = None,
    encoding: str = "utf-8-sig",
) -> ImportCounts:
    """Record the deliveries of a CSV file (columns sender, recipient, sent_at) in `history`.

    Raises ValueError if the header lacks a column; bad rows are counted as skipped_invalid.
    """
    counts = ImportCounts()
    batch: list[Delivery] = []

    def flush() -> None:
        if batch:
            counts.recorded += history.record_many(batch)
            batch.clear()

    with _open_text(path, encoding) as f:
        counts.lines = 1
        for row in _csv_rows(f):
            counts.lines += 1
            if progress is not None and counts.lines % _PROGRESS_EVERY == 0:
                flush()
                progress(counts)
            try:
                sender = parse_address(row["sender"].strip()).normalised
                recipients = tuple(
                    parse_address(r.strip()).normalised for r in row["recipient"].split(";") if r.strip()
                )
                when = _csv_time(row["sent_at"])
            except (AddressError, ValueError):
                counts.skipped_invalid += 1
                continue
            if not recipients:
                counts.skipped_invalid += 1
                continue
            counts.messages += 1
            counts.deliveries += len(recipients)
            batch.append(Delivery(sender, recipients, when))
            if len(batch) >= _BATCH:
                flush()
    flush()
    if progress is not None:
        progress(counts)
    return counts


def import_files(
    history: RecipientHistory,
    *,
    postfix: Iterable[str | Path] = (),
    csv_files: Iterable[str | Path] = (),
    internal_domains: Iterable[str] = (),
    ignore_relays: Iterable[str] = (),
    echo: Callable[[str], None] = print,
) -> ImportCounts:
    """What `gateway history import` runs: every file in turn, a progress line per 50,000 lines and
    a summary per file (counts only, never addresses). Returns the totals."""
    totals = ImportCounts()
    internal = list(internal_domains)
    relays = list(ignore_relays)

    def report(path: str | Path) -> Progress:
        return lambda c: echo(f"{path}: {c.lines} lines, {c.deliveries} deliveries, {c.recorded} recorded")

    def add(path: str | Path, counts: ImportCounts) -> None:
        skipped = {k: v for k, v in counts.to_json().items() if k.startswith(("skipped_", "not_")) and v}
        echo(f"{path}: done: {counts.recorded} recorded" + (f", {skipped}" if skipped else ""))
        for k, v in counts.to_json().items():
            setattr(totals, k, getattr(totals, k) + v)

    for path in postfix:
        add(
            path,
            import_postfix_log(path, history, internal_domains=internal, ignore_relays=relays, progress=report(path)),
        )
    for path in csv_files:
        add(path, import_csv(path, history, progress=report(path)))
    echo(f"history now holds {history.counts()['pairs']} sender-recipient pairs")
    return totals
