"""The thin aiosmtpd handler: validate the envelope, check the content's framing, store, answer.

No scanning happens here (after-queue design): the raw message is handed to `accept`, which writes it
durably and returns its queue id; only then is 250 given. Every failure of ours answers 4xx so that
the MTA retries; 5xx is reserved for what the client sent.

Decisions on the content (so that what is later scanned is exactly what is relayed):
- NUL anywhere: rejected (550 5.6.0). We do not offer BINARYMIME, and RFC 6152 forbids NUL in 8BITMIME.
- Bare CR (CR not followed by LF): rejected (550 5.6.0). Parsers disagree on whether it ends a line.
- Bare LF: normalised to CRLF (Postfix's smtpd_forbid_bare_newline=normalize). Only CRLF.CRLF ends
  DATA (see server.py); a lone `.` after a bare LF stays in the content as a line of its own.

Logs carry the client IP, counts, sizes and ids, never addresses or content.
"""

from __future__ import annotations

import asyncio
import email.utils
import functools
import ipaddress
import logging
import re
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from aiosmtpd.smtp import SMTP, Session, TLSSetupException
from aiosmtpd.smtp import Envelope as SmtpEnvelope

from gateway.config import SmtpConfig
from gateway.mail.addresses import AddressError, parse_path
from gateway.message import Envelope, new_message_id, received_count
from gateway.smtp.arguments import parse_esmtp_params, split_path_and_params
from gateway.store.base import StoreError

log = logging.getLogger(__name__)

Accept = Callable[[Envelope, bytes], Awaitable[str]]

# Replies (RFC 5321 codes with RFC 3463 enhanced status codes).
R_NOT_AUTHORIZED = "550 5.7.1 Client host not authorized to relay"
R_AUTH_REQUIRED = "530 5.7.0 Authentication required"
R_SENDER_OK = "250 2.1.0 Sender ok"
R_RCPT_OK = "250 2.1.5 Recipient ok"
R_TOO_MANY_RCPTS = "452 4.5.3 Too many recipients"
R_PARAM_SYNTAX = "501 5.5.4 Syntax error in parameters"
R_PARAM_UNKNOWN = "555 5.5.4 Unsupported parameter"
R_PARAM_NOT_EHLO = "501 5.5.4 Parameters need EHLO"
R_SIZE = "552 5.3.4 Message size exceeds fixed limit"
R_HEADER_SIZE = "552 5.3.4 Message header size exceeds limit"
R_NUL = "550 5.6.0 Message contains NUL characters (not allowed)"
R_BARE_CR = "550 5.6.0 Message contains bare CR characters (CR not followed by LF; not allowed)"
R_TOO_MANY_HOPS = "554 5.4.6 Too many hops (Received headers): mail loop?"
R_STORE_FAILED = "451 4.3.0 Temporary storage failure, try again later"
R_INTERNAL = "451 4.3.0 Internal error, try again later"

_HELO_UNSAFE = re.compile(r"[^A-Za-z0-9.\-_:\[\]]")
_SAFE_ID = re.compile(r"[A-Za-z0-9._-]{1,128}\Z")


IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@functools.lru_cache(maxsize=4096)
def _parse_path(path: str, allow_null: bool = False) -> str:
    """parse_path, once per path text: a gateway's senders and recipients repeat (MAIL and RCPT of
    every message). An AddressError is raised every time, never cached. Bounded: new paths evict."""
    return parse_path(path, allow_null=allow_null)


def peer_ip(session: Session) -> IPAddress | None:
    return address_of(session.peer)


def address_of(peer: object) -> IPAddress | None:
    """The IP address of a socket peer name (IPv4-mapped IPv6 as IPv4), or None."""
    if not isinstance(peer, tuple) or not peer:
        return None
    return _ip_of(str(peer[0]).split("%", 1)[0])


@functools.lru_cache(maxsize=1024)
def _ip_of(text: str) -> IPAddress | None:
    """address_of's parse, once per address text (a session asks three or four times; the addresses
    are immutable, so every caller may share them). Bounded: a scan from many addresses evicts."""
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


# A CR not followed by LF, an LF not preceded by CR. Searches that start at each CR (LF) only: a
# fifth of the time of counting CR, LF and CRLF over a message with attachments.
_BARE_CR = re.compile(rb"\r(?!\n)")
_BARE_LF = re.compile(rb"\n(?<!\r\n)")


def normalise_content(raw: bytes) -> bytes | str:
    """The message with bare LF turned into CRLF, or a rejection reply for NUL / bare CR."""
    if b"\0" in raw:
        return R_NUL
    if _BARE_CR.search(raw):
        return R_BARE_CR
    if _BARE_LF.search(raw):
        raw = raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    return raw


def header_block(raw: bytes) -> bytes:
    """The header section of CRLF-normalised content (everything before the first empty line)."""
    if raw.startswith(b"\r\n"):
        return b""
    end = raw.find(b"\r\n\r\n")
    return raw if end < 0 else raw[: end + 2]


class ReceiveHandler:
    """aiosmtpd hooks. The server (server.py) calls handle_MAIL/RCPT with the raw argument."""

    def __init__(self, config: SmtpConfig, accept: Accept, *, auth_offered: bool) -> None:
        self.config = config
        self.accept = accept
        self.auth_offered = auth_offered
        self.networks = [ipaddress.ip_network(n, strict=False) for n in config.allowed_clients]
        self.in_flight: set[asyncio.Task[str]] = set()

    # --- session -----------------------------------------------------------------------------

    async def handle_EHLO(
        self, server: SMTP, session: Session, envelope: SmtpEnvelope, hostname: str, responses: list[str]
    ) -> list[str]:
        session.host_name = hostname
        lines = [r for r in responses[:-1] if self.auth_offered or not r.startswith("250-AUTH")]
        return [*lines, "250-PIPELINING", "250-ENHANCEDSTATUSCODES", responses[-1]]

    def client_allowed(self, session: Session) -> bool:
        return bool(session.authenticated) or self.in_allowed_clients(peer_ip(session))

    def in_allowed_clients(self, ip: IPAddress | None) -> bool:
        return ip is not None and any(ip.version == n.version and ip in n for n in self.networks)

    # --- envelope ----------------------------------------------------------------------------

    async def handle_MAIL(self, server: SMTP, session: Session, envelope: SmtpEnvelope, arg: str) -> str:
        if not self.client_allowed(session):
            log.info("MAIL refused: client %s not authorized", peer_ip(session))
            return R_AUTH_REQUIRED if self.auth_offered else R_NOT_AUTHORIZED
        try:
            path, raw_params = split_path_and_params(arg)
        except AddressError:
            return "501 5.1.7 Bad sender address syntax"
        if raw_params and not session.extended_smtp:
            return R_PARAM_NOT_EHLO
        try:
            params = parse_esmtp_params(raw_params)
        except ValueError:
            return R_PARAM_SYNTAX
        reply = self._check_mail_params(params)
        if reply:
            return reply
        try:
            sender = _parse_path(path, True)
        except AddressError as e:
            log.info("MAIL refused from %s: %s", peer_ip(session), e.problem.value)
            return f"553 5.1.7 Bad sender address: {e.problem.value}"
        envelope.mail_from = sender
        envelope.mail_options = [f"{k}={v}" if v is not None else k for k, v in params.items()]
        return R_SENDER_OK

    def _check_mail_params(self, params: dict[str, str | None]) -> str | None:
        for key, value in params.items():
            if key == "SIZE":
                if value is None or not value.isdigit() or len(value) > 20:
                    return R_PARAM_SYNTAX
                if int(value) > self.config.max_message_size:
                    return R_SIZE
            elif key == "BODY":
                if value is None or value.upper() not in ("7BIT", "8BITMIME"):
                    return R_PARAM_SYNTAX
            elif key == "AUTH":
                if value is None:
                    return R_PARAM_SYNTAX
                # RFC 4954 §5: the claimed original submitter; informational, ignored.
            else:
                return R_PARAM_UNKNOWN
        return None

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: SmtpEnvelope, arg: str) -> str:
        try:
            path, raw_params = split_path_and_params(arg)
        except AddressError:
            return "501 5.1.3 Bad recipient address syntax"
        try:
            params = parse_esmtp_params(raw_params)
        except ValueError:
            return R_PARAM_SYNTAX
        if params:
            return R_PARAM_UNKNOWN
        try:
            rcpt = _parse_path(path)
        except AddressError as e:
            log.info("RCPT refused from %s: %s", peer_ip(session), e.problem.value)
            return f"553 5.1.3 Bad recipient address: {e.problem.value}"
        if rcpt in envelope.rcpt_tos:
            return R_RCPT_OK  # a duplicate: one delivery is enough
        if len(envelope.rcpt_tos) >= self.config.max_recipients:
            return R_TOO_MANY_RCPTS
        envelope.rcpt_tos.append(rcpt)
        return R_RCPT_OK

    # --- content -----------------------------------------------------------------------------

    async def handle_DATA(self, server: SMTP, session: Session, envelope: SmtpEnvelope) -> str:
        raw = envelope.original_content
        assert raw is not None and envelope.mail_from is not None
        ip = peer_ip(session)
        checked = normalise_content(raw)
        if isinstance(checked, str):
            log.info("DATA refused from %s: %s", ip, checked[10:])
            return checked
        if len(checked) > self.config.max_message_size:
            return R_SIZE
        header = header_block(checked)
        if len(header) > self.config.max_header_size:
            log.info("DATA refused from %s: header block of %d bytes", ip, len(header))
            return R_HEADER_SIZE
        received_id = new_message_id()
        content = self.received_header(server, session, received_id) + checked
        # Counted with ours, as delivery counts them (gateway.message.too_many_hops): a message
        # accepted here is never bounced as a loop by the gateway itself.
        hops = received_count(content)
        if hops > self.config.max_received_headers:
            log.warning("DATA refused from %s: %d Received headers with ours (loop?)", ip, hops)
            return R_TOO_MANY_HOPS
        env = Envelope(
            mail_from=envelope.mail_from,
            rcpt_tos=tuple(envelope.rcpt_tos),
            client_address=str(ip) if ip else "",
            helo=session.host_name or "",
        )
        task = asyncio.ensure_future(self.accept(env, content))
        self.in_flight.add(task)
        task.add_done_callback(self._accept_done)
        try:
            # Shielded: a client that disconnects (or aiosmtpd's timer) cancels this handler, but a
            # write that has started is finished; the client will retry and we may hold a duplicate,
            # which is allowed, while losing a half-written message is not.
            queue_id = await asyncio.shield(task)
        except StoreError as e:
            log.error("store failed for %s (%d bytes, %d rcpts): %s", received_id, len(content), len(env.rcpt_tos), e)
            return R_STORE_FAILED
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("accept failed for %s (%d bytes, %d rcpts)", received_id, len(content), len(env.rcpt_tos))
            return R_INTERNAL
        if not isinstance(queue_id, str) or not _SAFE_ID.match(queue_id):
            # Stored, but we cannot say under which id without risking the reply line: still 250.
            log.error("accept returned an unusable queue id for %s", received_id)
            queue_id = received_id
        log.info(
            "queued as %s (received id %s) from %s: %d bytes, %d rcpts, %d hops",
            queue_id,
            received_id,
            ip,
            len(content),
            len(env.rcpt_tos),
            hops,
        )
        return f"250 2.0.0 Ok: queued as {queue_id}"

    def _accept_done(self, task: asyncio.Task[str]) -> None:
        self.in_flight.discard(task)
        if not task.cancelled():
            task.exception()  # retrieved here, reported by handle_DATA if it was still waiting

    def received_header(self, server: SMTP, session: Session, received_id: str) -> bytes:
        """Our trace header (RFC 5321 §4.4), with the protocol per RFC 3848 (ESMTP, ESMTPS, ESMTPSA)."""
        helo = _HELO_UNSAFE.sub("?", (session.host_name or "unknown")[:255])
        proto = "ESMTP" if session.extended_smtp else "SMTP"
        tls = ""
        if session.ssl is not None:
            proto += "S"
            tls = _tls_comment(session.ssl)
        if session.authenticated:
            proto += "A"
        date = received_date(time.time())
        text = (
            f"Received: from {helo} ([{peer_ip(session)}])\r\n"
            f"\tby {server.hostname}{tls} with {proto} id {received_id};\r\n"
            f"\t{date}\r\n"
        )
        return text.encode("ascii", "replace")

    async def handle_exception(self, error: Exception) -> str:
        """aiosmtpd's last resort for an exception escaping a command: 451, never its permanent 500."""
        if isinstance(error, TLSSetupException):  # the client's handshake failed: not our error
            log.info("TLS handshake failed: %s", error.__cause__ or error)
        else:
            log.error("SMTP session error: %s", type(error).__name__, exc_info=error)
        return R_INTERNAL


_date_cache: tuple[int, str] = (-1, "")


def received_date(now: float) -> str:
    """The Received header's date for the time `now` (RFC 5322, local time with its offset), as
    email.utils.format_datetime(datetime.fromtimestamp(now).astimezone()) gives it: seconds are its
    finest unit and offsets change on whole seconds, so it is made once per second and reused."""
    global _date_cache
    second = int(now // 1)
    cached = _date_cache
    if cached[0] == second:
        return cached[1]
    text = email.utils.format_datetime(datetime.fromtimestamp(second).astimezone())
    _date_cache = (second, text)
    return text


def _tls_comment(ssl_info: dict[str, Any]) -> str:
    obj = ssl_info.get("ssl_object")
    try:
        version = obj.version() if obj is not None else None
        cipher = obj.cipher() if obj is not None else None
    except Exception:  # the comment is decoration; never fail a message over it
        return ""
    if not version or not cipher:
        return ""
    return f"\r\n\t(using {version} with cipher {cipher[0]} ({cipher[2]}/{cipher[2]} bits))"
