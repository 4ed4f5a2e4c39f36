"""Deliver one message to one next hop with aiosmtplib, with per-recipient results.

- TLS policy is explicit. MX delivery: opportunistic STARTTLS without certificate checks (the
  convention on port 25: an unverified TLS session still beats plain text), falling back to plain
  text if the handshake fails. Smarthost: exactly what `smarthost_tls` says, with strict
  verification; a smarthost that cannot do the configured TLS is a temporary failure, never a silent
  downgrade.
- Connections are reused through a small pool keyed by the socket's host:port. A connection is put
  back only after a transaction that ended cleanly; any error or cancellation discards it (aiosmtplib
  leaves a connection whose task was cancelled mid-transaction in an undefined state). A pooled
  connection idle for more than a moment is checked with RSET before its next message; one parked
  just now is used at once (no extra round trip per message), and if it turns out dead at MAIL (the
  server closed it, or answered 421) the transaction goes again on a new connection. Nothing was
  accepted before MAIL, so that repeat cannot duplicate.
- Every recipient gets a result: aiosmtplib reports refused recipients as data, so the transaction is
  driven command by command here and every reply is looked at.
- DATA sends what aiosmtplib would send, without its two regex substitutions over the whole message
  (line endings, dot-stuffing: a tenth of the first process's time under load): the stored message
  is already CRLF throughout, so a search for a bare CR or LF and a bytes.replace do (data_payload;
  aiosmtplib's own path when a bare one is there). That copies a few lines of aiosmtplib 5.1's
  SMTPProtocol.execute_data_command: pyproject pins aiosmtplib below 5.2.
- PIPELINING (RFC 2920), when the EHLO reply offers it: MAIL, every RCPT and DATA go in one write and
  their replies are read in order (one round trip instead of 2 + one per recipient); the body only
  after the 354. Every reply is classified as on the command-by-command path, which is kept for hops
  that do not offer it. aiosmtplib reads one reply per command and drops bytes that arrive while a
  parsed reply waits to be picked up, so `_DeliveryProtocol` keeps them while a batch is read. That
  uses aiosmtplib 5.1's SMTPProtocol internals (`_buffer`, `_response_waiter`, `_response_pending`,
  `_command_lock`, `_read_response_from_buffer`, `_set_response_exception`) and its
  `quote_address` and `COMMAND_INJECTION_REGEX` to write the commands as its mail()/rcpt() do.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import re
import ssl
import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

import aiosmtplib
from aiosmtplib import SMTP, SMTPResponse
from aiosmtplib.email import quote_address
from aiosmtplib.protocol import (
    COMMAND_INJECTION_REGEX,
    LINE_ENDINGS_REGEX,
    MAX_RESPONSE_LENGTH,
    PERIOD_REGEX,
    SMTPProtocol,
)
from aiosmtplib.typing import Default, SMTPStatus

from gateway.config import RelayConfig
from gateway.outbound.nexthop import NextHop

# A pooled connection idle longer than this is closed rather than reused (servers time out idle
# sessions after a few minutes; RFC 5321 asks for at least 5).
MAX_IDLE_SECONDS = 60.0
# A pooled connection idle longer than this is checked with RSET before it is used again.
RSET_AFTER_IDLE_SECONDS = 2.0

_ENHANCED = re.compile(r"^([245])\.(\d{1,3})\.(\d{1,3})\b")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


# A CR not followed by LF, an LF not preceded by CR: searched for, never substituted.
_BARE_CR = re.compile(rb"\r(?!\n)")
_BARE_LF = re.compile(rb"\n(?<!\r\n)")


def data_payload(message: bytes) -> bytes | None:
    """What aiosmtplib sends after DATA for `message` (lone CR or LF made CRLF, a final CRLF added if
    missing, a dot doubled at the start of every line, then `.` CRLF), or None if the message has a
    lone CR or LF: then aiosmtplib's own functions prepare it."""
    if _BARE_CR.search(message) or _BARE_LF.search(message):
        return None
    if b"." in message:  # one byte: memchr; base64 bodies have no dot at all
        message = message.replace(b"\n.", b"\n..")
        if message.startswith(b"."):
            message = b"." + message
    if message.endswith(b"\r\n"):
        return message + b".\r\n"
    return message + b"\r\n.\r\n"


def _full_payload(message: bytes) -> bytes:
    """data_payload, or what aiosmtplib's execute_data_command makes of a message with a lone CR/LF."""
    payload = data_payload(message)
    if payload is not None:
        return payload
    message = LINE_ENDINGS_REGEX.sub(b"\r\n", message)
    if not message.endswith(b"\r\n"):
        message += b"\r\n"
    return PERIOD_REGEX.sub(b"..", message) + b".\r\n"


@functools.lru_cache(maxsize=4096)
def _quoted(address: str, encoding: str) -> bytes:
    """quote_address(address) encoded, once per address: aiosmtplib parses it with email.utils.parseaddr
    (a sixth of the delivery process's CPU per message), and a gateway's senders and recipients repeat.
    A ValueError (an address it refuses, or one the encoding cannot write) is raised every time, never
    cached. Bounded: a flood of new addresses evicts the old ones."""
    return quote_address(address).encode(encoding)


def _command(verb: bytes, prefix: bytes, address: str, options: list[str], encoding: str) -> bytes:
    """`MAIL FROM:<a> OPTS` / `RCPT TO:<a>` CRLF as aiosmtplib 5.1's mail()/rcpt() write them, with the
    same ValueError for an address it would refuse to send."""
    args = [verb, prefix + _quoted(address, encoding), *(o.encode("ascii") for o in options)]
    for arg in args:
        if COMMAND_INJECTION_REGEX.search(arg):
            raise ValueError("Command arg contains a prohibited control character")
    return b" ".join(args) + b"\r\n"


class _DeliveryProtocol(SMTPProtocol):
    """aiosmtplib's protocol, which while `pipelined` keeps every byte received, so the replies to a
    batch of commands are all read (the stock one parses one reply per data_received and drops what
    arrives while that reply waits to be picked up). Installed on a connection's protocol by
    `_pipelined_protocol` (class swap: aiosmtplib has no hook to choose the protocol class)."""

    pipelined = False

    def data_received(self, data: bytes) -> None:
        waiter = self._response_waiter
        if not self.pipelined or waiter is None:
            super().data_received(data)
            return
        self._buffer.extend(data)
        if waiter.done() or not self._response_pending:
            return  # read_reply takes it from the buffer
        try:
            response = self._buffered_reply()
        except Exception as exc:
            self._set_response_exception(waiter, exc)
        else:
            if response is not None:
                waiter.set_result(response)

    def _buffered_reply(self) -> SMTPResponse | None:
        response = self._read_response_from_buffer()
        if response is None and len(self._buffer) > MAX_RESPONSE_LENGTH:
            del self._buffer[:]
            raise aiosmtplib.SMTPResponseException(SMTPStatus.invalid_response.value, "Response too long")
        return response

    async def read_reply(self, timeout: float | None) -> SMTPResponse:
        """The next reply: from the buffer if a whole one is there, else read_response."""
        if self._buffer:
            response = self._buffered_reply()
            if response is not None:
                return response
        return await self.read_response(timeout=timeout)


def _pipelined_protocol(conn: SMTP) -> _DeliveryProtocol | None:
    """The connection's protocol made a _DeliveryProtocol, or None if it is not aiosmtplib's own."""
    protocol = conn.protocol
    if isinstance(protocol, _DeliveryProtocol):
        return protocol
    if type(protocol) is not SMTPProtocol:
        return None
    protocol.__class__ = _DeliveryProtocol
    assert isinstance(protocol, _DeliveryProtocol)
    return protocol


class _DeliverySMTP(SMTP):
    """aiosmtplib's SMTP with a DATA that sends data_payload's bytes (see the module docstring)."""

    async def data(self, message: str | bytes, /, *, timeout: float | Default | None = Default.token) -> SMTPResponse:
        payload = data_payload(message) if isinstance(message, bytes) else None
        if payload is None or self.protocol is None:
            return await super().data(message, timeout=timeout)
        await self._ehlo_or_helo_if_needed()
        try:
            return await _send_data(self.protocol, payload, self.timeout if timeout is Default.token else timeout)
        except (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError):
            self.close()
            raise


async def _send_data(protocol: SMTPProtocol, payload: bytes, timeout: float | None) -> SMTPResponse:
    """SMTPProtocol.execute_data_command of aiosmtplib 5.1 for a payload already prepared."""
    lock = protocol._command_lock
    if lock is None:
        raise aiosmtplib.SMTPServerDisconnected("Server not connected")
    async with lock:
        protocol._response_pending = True
        protocol.write(b"DATA\r\n")
        start = await protocol.read_response(timeout=timeout)
        if start.code != SMTPStatus.start_input:
            raise aiosmtplib.SMTPDataError(start.code, start.message)
        protocol._response_pending = True
        protocol.write(payload)
        response = await protocol.read_response(timeout=timeout)
        if response.code != SMTPStatus.completed:
            raise aiosmtplib.SMTPDataError(response.code, response.message)
    return response


class Outcome(StrEnum):
    DELIVERED = "delivered"
    TEMPORARY = "temporary"
    PERMANENT = "permanent"


@dataclass(frozen=True)
class RcptResult:
    """What happened to one recipient in one attempt."""

    outcome: Outcome
    code: int  # the SMTP reply code (or 451/550-style code we chose for local failures)
    status: str  # RFC 3463 enhanced status, e.g. "5.1.1"
    text: str  # the server's reply text (one line, control characters removed) or our reason
    hop: str = ""  # "host:port" that gave the answer, "" if none did

    @property
    def describe(self) -> str:
        """'550 5.1.1 User unknown': what QueuedMessage.failed and the DSN carry."""
        return f"{self.code} {self.status} {self.text}".strip()


def classify(code: int, message: str, hop: str = "") -> RcptResult:
    """An SMTP reply → a result. Anything that is neither 2xx nor 5xx is retried (fail closed)."""
    text = _CONTROL.sub(" ", message).strip()
    match = _ENHANCED.match(text)
    if 200 <= code < 300:
        outcome = Outcome.DELIVERED
    elif 500 <= code < 600:
        outcome = Outcome.PERMANENT
    else:
        outcome = Outcome.TEMPORARY
    default_status = {Outcome.DELIVERED: "2.0.0", Outcome.PERMANENT: "5.0.0", Outcome.TEMPORARY: "4.0.0"}
    status = default_status[outcome]
    if match and match.group(1) == status[0]:
        status = match.group(0)
        text = text[match.end() :].strip()
    return RcptResult(outcome, code, status, text, hop)


def refusal(code: int, message: str, hop: str = "", command: str = "") -> RcptResult:
    """The result of a reply that did not accept a command (MAIL, RCPT or DATA). A 4xx or 5xx is
    classified as any reply; anything else (a 250 to DATA instead of its 354, a 252 to RCPT, a 354 to
    MAIL) accepted nothing either, and no body went: retried later, never counted as delivered."""
    if 400 <= code < 600:
        return classify(code, message, hop)
    text = _CONTROL.sub(" ", message).strip()
    return temporary("4.5.0", f"unexpected reply {code} to {command}: {text}".strip(": "), hop)


def unexpected(code: int) -> bool:
    """A reply that neither accepted a command nor refused it: the session's state is unknown."""
    return not 400 <= code < 600


def temporary(status: str, text: str, hop: str = "", code: int = 451) -> RcptResult:
    return RcptResult(Outcome.TEMPORARY, code, status, text, hop)


def _describe_error(exc: BaseException) -> str:
    """A log- and DSN-safe description of a connection-level error (no addresses in it)."""
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return f"{type(exc).__name__} {exc.code}"
    return type(exc).__name__


_CONNECT_ERRORS: tuple[type[BaseException], ...] = (aiosmtplib.SMTPException, OSError, EOFError)
_TRANSACTION_ERRORS: tuple[type[BaseException], ...] = (*_CONNECT_ERRORS, ValueError)


# What a transaction leaves the connection fit for: parked as is, parked after an RSET, or closed.
_After = Literal["reuse", "rset", "close"]


class _StaleConnection(Exception):
    """A reused connection failed at MAIL, before the server accepted anything: try a new one."""


class _HopFailed(Exception):
    def __init__(self, result: RcptResult) -> None:
        super().__init__(result.describe)
        self.result = result


class SmtpClient:
    def __init__(self, relay: RelayConfig, max_idle_per_hop: int | None = None) -> None:
        self.relay = relay
        self.max_idle_per_hop = max_idle_per_hop if max_idle_per_hop is not None else relay.concurrency
        self._idle: dict[str, list[tuple[SMTP, float]]] = {}

    async def deliver(self, hops: list[NextHop], mail_from: str, rcpts: list[str], raw: bytes) -> dict[str, RcptResult]:
        """Try the hops in order until one takes the transaction; a result for every recipient."""
        if not rcpts:
            return {}
        last = temporary("4.4.1", "no next hop answered")
        for hop in hops:
            try:
                conn, reused = await self._acquire(hop)
            except _HopFailed as failed:
                last = failed.result
                continue
            try:
                return await self._transaction(conn, hop, mail_from, rcpts, raw, reused)
            except _StaleConnection:
                try:
                    conn = await self._connect(hop)
                except _HopFailed as failed:
                    last = failed.result
                    continue
                return await self._transaction(conn, hop, mail_from, rcpts, raw, reused=False)
        return {r: last for r in rcpts}

    async def close(self) -> None:
        idle, self._idle = self._idle, {}
        for conns in idle.values():
            for conn, _ in conns:
                await self._quit(conn)

    # -- the transaction -------------------------------------------------------------------------

    async def _transaction(
        self, conn: SMTP, hop: NextHop, mail_from: str, rcpts: list[str], raw: bytes, reused: bool = False
    ) -> dict[str, RcptResult]:
        where = hop.key
        results: dict[str, RcptResult] = {}
        reusable = False
        try:
            options: list[str] = []
            encoding = "ascii"
            if not all(a.isascii() for a in (mail_from, *rcpts)):
                if not conn.supports_extension("smtputf8"):
                    # RFC 6531 3.4: without SMTPUTF8 at the next hop this cannot be delivered.
                    reason = classify(553, "5.6.7 next hop does not support SMTPUTF8 addresses", where)
                    reusable = True
                    return {r: reason for r in rcpts}
                options.append("SMTPUTF8")
                encoding = "utf-8"
            if conn.supports_extension("size"):
                options.append(f"SIZE={len(raw)}")
            if not raw.isascii() and conn.supports_extension("8bitmime"):
                options.append("BODY=8BITMIME")

            if conn.supports_extension("pipelining"):
                after = await self._pipelined(conn, where, mail_from, rcpts, raw, options, encoding, reused, results)
                if after is not None:
                    reusable = after == "reuse" or (after == "rset" and await self._rset(conn))
                    return results

            try:
                await conn.mail(mail_from, options=options, encoding=encoding)
            except aiosmtplib.SMTPSenderRefused as e:
                if reused and e.code == 421:  # the server ended the idle session
                    raise _StaleConnection from e
                refused = refusal(e.code, e.message, where, "MAIL")
                reusable = not unexpected(e.code) and await self._rset(conn)
                return {r: refused for r in rcpts}
            except ValueError:  # aiosmtplib refuses to send an unsafe address
                refused = classify(553, "5.1.7 bad sender address syntax", where)
                reusable = True
                return {r: refused for r in rcpts}
            except _CONNECT_ERRORS as e:
                if reused:  # closed while parked: nothing was sent to anyone yet
                    raise _StaleConnection from e
                raise

            accepted: list[str] = []
            for rcpt in rcpts:
                try:
                    await conn.rcpt(rcpt, encoding=encoding)
                except aiosmtplib.SMTPRecipientRefused as e:
                    results[rcpt] = refusal(e.code, e.message, where, "RCPT")
                except ValueError:  # aiosmtplib refuses to send an unsafe address
                    results[rcpt] = classify(553, "5.1.3 bad recipient address syntax", where)
                else:
                    accepted.append(rcpt)
            if not accepted:
                reusable = await self._rset(conn)
                return results

            try:
                response = await conn.data(raw)
            except aiosmtplib.SMTPDataError as e:  # DATA not answered 354, or the body refused
                refused = refusal(e.code, e.message, where, "DATA")
                results.update((r, refused) for r in accepted)
                reusable = not unexpected(e.code) and await self._rset(conn)
                return results
            done = classify(response.code, response.message, where)
            results.update((r, done) for r in accepted)
            reusable = True
            return results
        except _TRANSACTION_ERRORS as e:
            # Lost connection, timeout, 421, a protocol error: everything not yet answered is retried.
            if isinstance(e, aiosmtplib.SMTPResponseException) and e.code >= 400:
                failure = classify(e.code, e.message, where)
                if failure.outcome is Outcome.PERMANENT:
                    failure = temporary("4.4.2", f"{e.code} {failure.text}", where)
            else:
                failure = temporary("4.4.2", f"connection failed during the transaction ({_describe_error(e)})", where)
            for r in rcpts:
                results.setdefault(r, failure)
            return results
        finally:
            if reusable and conn.is_connected:
                self._park(hop, conn)
            else:
                conn.close()

    async def _pipelined(
        self,
        conn: SMTP,
        where: str,
        mail_from: str,
        rcpts: list[str],
        raw: bytes,
        options: list[str],
        encoding: str,
        reused: bool,
        results: dict[str, RcptResult],
    ) -> _After | None:
        """The transaction with MAIL, the RCPTs and DATA in one write (RFC 2920), every reply classified
        as the command-by-command path does (the differential tests hold them equal). Fills `results`
        and says what to do with the connection; None if nothing was sent (an address aiosmtplib
        refuses to write, or not its protocol): the command-by-command path then does it all."""
        try:
            batch = [_command(b"MAIL", b"FROM:", mail_from, options, encoding)]
        except ValueError:
            return None
        sent: list[str] = []
        for rcpt in rcpts:
            try:
                batch.append(_command(b"RCPT", b"TO:", rcpt, [], encoding))
            except ValueError:  # aiosmtplib refuses to send an unsafe address
                continue
            sent.append(rcpt)
        if not sent:
            return None
        batch.append(b"DATA\r\n")
        protocol = _pipelined_protocol(conn)
        if protocol is None:
            return None
        lock = protocol._command_lock
        try:
            if lock is None:
                raise aiosmtplib.SMTPServerDisconnected("Server not connected")
            await lock.acquire()
        except _CONNECT_ERRORS as e:
            if reused:
                raise _StaleConnection from e
            raise
        protocol.pipelined = True
        try:
            after = await self._batch(protocol, where, rcpts, sent, batch, raw, reused, results, conn.timeout)
            if protocol._buffer:  # bytes no command asked for: out of step, never reuse it
                del protocol._buffer[:]
                return "close"
            return after
        finally:
            protocol.pipelined = False
            lock.release()

    @staticmethod
    async def _batch(
        protocol: _DeliveryProtocol,
        where: str,
        rcpts: list[str],
        sent: list[str],
        batch: list[bytes],
        raw: bytes,
        reused: bool,
        results: dict[str, RcptResult],
        timeout: float | None,
    ) -> _After:
        """_pipelined's commands written and their replies read, under the command lock."""
        try:
            protocol._response_pending = True
            protocol.write(b"".join(batch))
            mail = await protocol.read_reply(timeout)
        except _CONNECT_ERRORS as e:
            if reused:  # closed while parked: nothing was accepted, and no body was sent
                raise _StaleConnection from e
            raise
        if mail.code == SMTPStatus.domain_unavailable:  # 421: the server is closing the connection
            if reused:  # the server ended the idle session
                raise _StaleConnection
            refused = classify(mail.code, mail.message, where)
            results.update((r, refused) for r in rcpts)
            return "close"
        mail_ok = mail.code == SMTPStatus.completed
        if mail_ok:
            unsent = [r for r in rcpts if r not in sent]
            if unsent:  # addresses aiosmtplib refused to write
                bad = classify(553, "5.1.3 bad recipient address syntax", where)
                results.update((r, bad) for r in unsent)
        else:  # RFC 2920: the RCPT and DATA replies are read and ignored
            refused = refusal(mail.code, mail.message, where, "MAIL")
            results.update((r, refused) for r in rcpts)
        accepted: list[str] = []
        for rcpt in sent:
            reply = await protocol.read_reply(timeout)
            if not mail_ok:
                if reply.code == SMTPStatus.domain_unavailable:
                    return "close"
            elif reply.code in (SMTPStatus.completed, SMTPStatus.will_forward):
                accepted.append(rcpt)
            else:
                results[rcpt] = refusal(reply.code, reply.message, where, "RCPT")
                if reply.code == SMTPStatus.domain_unavailable:
                    # As aiosmtplib, which closes the connection on a 421: what is not answered yet is
                    # retried (the caller's handler gives it the connection failure).
                    raise aiosmtplib.SMTPServerDisconnected("Server not connected")
        data = await protocol.read_reply(timeout)
        if data.code != SMTPStatus.start_input:
            if accepted:
                refused = refusal(data.code, data.message, where, "DATA")
                results.update((r, refused) for r in accepted)
            if data.code == SMTPStatus.domain_unavailable or unexpected(data.code):
                return "close"
            return "close" if not mail_ok and unexpected(mail.code) else "rset"
        protocol._response_pending = True
        if not accepted:
            # RFC 2920: DATA was answered 354 but no recipient was accepted (or MAIL was refused): an
            # empty message ends it, delivered to no one.
            protocol.write(b".\r\n")
            await protocol.read_reply(timeout)
            return "close" if not mail_ok and unexpected(mail.code) else "rset"
        protocol.write(_full_payload(raw))  # only now, after the 354
        done = await protocol.read_reply(timeout)
        outcome = classify(done.code, done.message, where)
        results.update((r, outcome) for r in accepted)
        return "reuse" if done.code == SMTPStatus.completed else "rset"

    async def _rset(self, conn: SMTP) -> bool:
        """After a refused transaction: True if the connection is clean enough to reuse."""
        if not conn.is_connected:
            return False
        try:
            await conn.rset()
        except _CONNECT_ERRORS:
            return False
        return True

    # -- the pool --------------------------------------------------------------------------------

    def _park(self, hop: NextHop, conn: SMTP) -> None:
        idle = self._idle.setdefault(hop.key, [])
        if len(idle) >= self.max_idle_per_hop:
            conn.close()
            return
        idle.append((conn, time.monotonic()))

    async def _acquire(self, hop: NextHop) -> tuple[SMTP, bool]:
        """A connection to the hop and whether it was reused from the pool."""
        idle = self._idle.get(hop.key, [])
        while idle:
            conn, since = idle.pop()
            age = time.monotonic() - since
            if age > MAX_IDLE_SECONDS or not conn.is_connected:
                await self._quit(conn)
                continue
            if age <= RSET_AFTER_IDLE_SECONDS:
                return conn, True
            try:
                await conn.rset()  # also tells us whether the server closed the idle session
            except _CONNECT_ERRORS:
                conn.close()
                continue
            except BaseException:
                conn.close()
                raise
            return conn, True
        return await self._connect(hop), False

    async def _connect(self, hop: NextHop) -> SMTP:
        try:
            return await self._open(hop, try_starttls=True)
        except _HopFailed as failed:
            if hop.smarthost or not failed.result.status.startswith("4.7"):
                raise
        # Opportunistic TLS to an MX failed in the handshake: like Postfix, retry in plain text.
        return await self._open(hop, try_starttls=False)

    async def _open(self, hop: NextHop, try_starttls: bool) -> SMTP:
        relay = self.relay
        use_tls = hop.smarthost and relay.smarthost_tls == "tls"
        conn = _DeliverySMTP(
            hostname=hop.address,
            port=hop.port,
            local_hostname=relay.helo_name,
            timeout=relay.command_timeout,
            use_tls=use_tls,
            start_tls=False,  # decided below, explicitly
            validate_certs=True,
            tls_context=ssl.create_default_context() if use_tls else None,
        )
        where = hop.key
        phase = "connect"
        try:
            await conn.connect(timeout=relay.connect_timeout)
            phase = "ehlo"
            await self._hello(conn)
            if hop.smarthost and relay.smarthost_tls == "starttls":
                phase = "starttls"
                if not conn.supports_extension("starttls"):
                    raise _HopFailed(temporary("4.7.4", "smarthost does not offer STARTTLS", where))
                await conn.starttls(server_hostname=hop.host, tls_context=ssl.create_default_context())
                await self._hello(conn)
            elif not hop.smarthost and try_starttls and conn.supports_extension("starttls"):
                phase = "starttls"
                await conn.starttls(server_hostname=hop.host, tls_context=_unverified_context())
                await self._hello(conn)
            if hop.smarthost and relay.smarthost_username:
                phase = "auth"
                await self._login(conn, relay.smarthost_username, relay.smarthost_password or "")
        except _HopFailed:
            conn.close()
            raise
        except _CONNECT_ERRORS as e:
            conn.close()
            status = "4.7.0" if phase in ("starttls", "auth") else "4.4.1"
            raise _HopFailed(temporary(status, f"{phase} failed ({_describe_error(e)})", where)) from None
        except BaseException:
            conn.close()
            raise
        return conn

    @staticmethod
    async def _login(conn: SMTP, username: str, password: str) -> None:
        """One mechanism, one try: aiosmtplib's login() would try every mechanism in turn after a
        refusal (several failures against lockout policies, and LOGIN after PLAIN hangs some servers)."""
        methods = conn.supported_auth_methods
        if "plain" in methods:
            await conn.auth_plain(username, password)
        elif "login" in methods:
            await conn.auth_login(username, password)
        else:
            await conn.login(username, password)

    @staticmethod
    async def _hello(conn: SMTP) -> None:
        try:
            await conn.ehlo()
        except aiosmtplib.SMTPHeloError:
            if not conn.is_connected:
                raise
            await conn.helo()

    @staticmethod
    async def _quit(conn: SMTP) -> None:
        try:
            with contextlib.suppress(*_CONNECT_ERRORS):
                await asyncio.wait_for(conn.quit(), timeout=5)
        except TimeoutError:
            pass
        finally:
            conn.close()


def _unverified_context() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context
