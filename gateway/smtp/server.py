"""The SMTP server: aiosmtpd's protocol with our limits, run on the current event loop.

What we change in aiosmtpd 1.4.6 and why:
- MAIL/RCPT: aiosmtpd parses addresses with email._header_value_parser, which silently drops source
  routes and accepts quoted `@`. We hand the raw argument to the handler's strict parser instead.
- DATA: our own reader. Only CRLF.CRLF ends DATA (a `.` after a bare LF is content), lines may be up
  to max_line_length, the idle timer is kept alive while data flows, at most max_concurrent_data
  transfers are read at once (aiosmtpd holds a message in memory several times over: beyond the
  bound we answer 452 4.3.1 before the 354 rather than risk memory), and every reply carries an
  enhanced status code. Exceptions escaping a hook answer 451, never aiosmtpd's permanent 500.
- Fair to the MTA: a client outside allowed_clients is refused at connect (`554 5.7.1`, closed before
  the greeting) unless AUTH is offered; then such clients together hold at most max_connections -
  reserved_connections slots. No client address holds more than max_connections_per_client, and
  connections beyond max_connections get `421 4.7.0`: a host that opens connections and keeps them
  alive with NOOPs cannot lock the company's MTA out. Limits are per receive process.
- AUTH (PLAIN, LOGIN) only after STARTTLS, at most a few attempts per connection.
- aiosmtpd logs every command line (with addresses) at INFO on "mail.log": we drop its records
  below WARNING, and escape control characters in those we keep (its "unrecognised: <command>"
  warning carries the client's text as it came: ESC, BEL, CR, NUL).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from types import MethodType
from typing import Any

import aiosmtpd.smtp
from aiosmtpd.smtp import SMTP, _AuthMechAttr

from gateway.config import SmtpConfig, parse_host_port
from gateway.logsetup import EscapeControls
from gateway.smtp import introspection
from gateway.smtp.auth import Authenticator
from gateway.smtp.handler import Accept, ReceiveHandler, address_of

log = logging.getLogger(__name__)

R_TOO_MANY_CONNECTIONS = b"421 4.7.0 Too many connections, try again later\r\n"
R_TOO_MANY_FROM_CLIENT = b"421 4.7.0 Too many connections from your address, try again later\r\n"
R_CLIENT_NOT_AUTHORIZED = b"554 5.7.1 Client host not authorized\r\n"
REFUSAL_LOG_SECONDS = 60.0  # one log line per client address and reason in this time, with a count
R_SHUTTING_DOWN = "421 4.3.2 Service shutting down, try again later"
R_DATA_BUSY = "452 4.3.1 Insufficient system resources, try again later"
R_LINE_TOO_LONG = "552 5.3.4 Message line too long (limit {} octets)"
R_DATA_TOO_BIG = "552 5.3.4 Message size exceeds fixed limit"
R_DATA_TOO_SLOW = "421 4.4.2 Data transfer took too long, closing connection"
MAX_AUTH_ATTEMPTS = 5


class _MailLogFilter(EscapeControls):
    """aiosmtpd's "mail.log" logs command lines (addresses) at INFO/DEBUG: keep only warnings, escaped."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING or "login_data is deprecated" in str(record.msg):
            return False
        return super().filter(record)


_mail_log = logging.getLogger("mail.log")
if not any(isinstance(f, _MailLogFilter) for f in _mail_log.filters):
    _mail_log.addFilter(_MailLogFilter())


@dataclass
class _Shared:
    """State shared by all connections of one listening server (one event loop, so no locks)."""

    config: SmtpConfig
    connections: set[GatewaySMTP] = field(default_factory=set)
    per_client: Counter[str] = field(default_factory=Counter)  # open connections per client address
    outsiders: int = 0  # open connections from outside allowed_clients (AUTH offered)
    data_in_flight: int = 0
    closing: bool = False
    # Refusals logged per (address, reason): when last logged, and how many since.
    refusals: dict[tuple[str, str], tuple[float, int]] = field(default_factory=dict)

    def refusal(self, client: str, reason: str, now: float) -> int:
        """How many refusals of this kind to log now (0: stay quiet, a flood must not flood the log)."""
        key = (client, reason)
        last, count = self.refusals.get(key, (0.0, 0))
        count += 1
        if now - last < REFUSAL_LOG_SECONDS:
            self.refusals[key] = (last, count)
            return 0
        if len(self.refusals) > 10_000:  # many addresses: forget the quiet ones
            self.refusals = {k: v for k, v in self.refusals.items() if now - v[0] < REFUSAL_LOG_SECONDS}
        self.refusals[key] = (now, 0)
        return count


introspection.install()

_LOG_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING}


def _sanitized_log_when_enabled(func: Any, msg: Any, *args: Any, **kwargs: Any) -> None:
    """aiosmtpd's sanitized_log (AUTH data masked in a command line before it is logged), called on
    every command line: skipped when the logger would drop the record anyway (mail.log is at WARNING
    and its records below are filtered out), so no list is built and no regex run for nothing."""
    logger = getattr(func, "__self__", None)
    level = _LOG_LEVELS.get(getattr(func, "__name__", ""))
    if level is not None and isinstance(logger, logging.Logger) and not logger.isEnabledFor(level):
        return
    _aiosmtpd_sanitized_log(func, msg, *args, **kwargs)


_aiosmtpd_sanitized_log = getattr(aiosmtpd.smtp.sanitized_log, "__wrapped__", aiosmtpd.smtp.sanitized_log)
_sanitized_log_when_enabled.__wrapped__ = _aiosmtpd_sanitized_log  # type: ignore[attr-defined]
aiosmtpd.smtp.sanitized_log = _sanitized_log_when_enabled


# GatewaySMTP attributes that the connection template makes anew for each connection.
_PER_CONNECTION = ("command_size_limits", "_smtp_methods", "_auth_methods", "_handle_hooks", "_call_limit_base")


def _own_function(value: object, proto: object) -> Any:
    """The function of a method bound to `proto` (to be bound to each connection), else None."""
    return value.__func__ if isinstance(value, MethodType) and value.__self__ is proto else None


class GatewaySMTP(SMTP):
    def __init__(self, handler: ReceiveHandler, shared: _Shared, **kwargs: Any) -> None:
        # Read by SMTP.__init__ for the StreamReader limit: raise it before the parent runs.
        self.line_length_limit = shared.config.max_line_length
        # aiosmtpd's per-command size limits are a class-level dict grown on every EHLO: own one.
        self.command_size_limits = SMTP.command_size_limits.copy()
        super().__init__(handler, **kwargs)
        self.gw_handler = handler
        self.shared = shared
        self._refused = False
        self._counted: tuple[str, bool] | None = None  # (client address, in allowed_clients) once counted
        self.in_data = False
        self._deadline = 0.0  # loop time at which the idle timeout closes the connection
        self._timer_armed = False  # self._timeout_handle is scheduled and has not run

    @classmethod
    def template(cls, handler: ReceiveHandler, shared: _Shared, **kwargs: Any) -> Callable[[], GatewaySMTP]:
        """A factory of connections like `GatewaySMTP(handler, shared, **kwargs)`, cheaper per connection.

        aiosmtpd's SMTP.__init__ works out the same answers for every connection (settings, the
        hooks of the one handler, its own commands looked over): a tenth of the receive process's
        CPU when each message comes on a connection of its own. It is run once here, on a template;
        each connection then takes the template's attributes and gets its own stream state
        (StreamReaderProtocol.__init__), its own command-size limits and call limits, and its own
        commands and built-in AUTH mechanisms bound to itself. Only the handler's bound hooks are
        shared, as they were (they are bound to the one handler). tests/unit/test_smtp_template.py
        holds every attribute equal to what the full __init__ gives.
        """
        proto = cls(handler, shared, **kwargs)
        loop: asyncio.AbstractEventLoop = proto.loop
        own = set(asyncio.StreamReaderProtocol(asyncio.StreamReader(loop=loop), lambda r, w: None, loop).__dict__)
        state = {k: v for k, v in proto.__dict__.items() if k not in own}
        # The per-connection values, replaced below (the template's would be shared).
        for key in _PER_CONNECTION:
            state.pop(key, None)
        commands = [(name, _own_function(method, proto), method) for name, method in proto._smtp_methods.items()]
        auth = [(name, _own_function(attr.method, proto), attr) for name, attr in proto._auth_methods.items()]
        hooks = proto._handle_hooks
        size_limits = proto.command_size_limits
        call_limit_base = getattr(proto, "_call_limit_base", None)
        limit = proto.line_length_limit
        srp_init, reader, bind = asyncio.StreamReaderProtocol.__init__, asyncio.StreamReader, MethodType

        def connection() -> GatewaySMTP:
            conn = cls.__new__(cls)
            conn.__dict__.update(state)
            srp_init(conn, reader(loop=loop, limit=limit), conn._cb_client_connected, loop)
            conn.command_size_limits = size_limits.copy()  # a defaultdict, empty until EHLO fills it
            conn._smtp_methods = {name: value if func is None else bind(func, conn) for name, func, value in commands}
            conn._auth_methods = {
                name: attr if func is None else _AuthMechAttr(bind(func, conn), attr.is_builtin)
                for name, func, attr in auth
            }
            conn._handle_hooks = dict(hooks)
            if call_limit_base is not None:
                conn._call_limit_base = dict(call_limit_base)
            return conn

        return connection

    # --- idle timeout ------------------------------------------------------------------------

    def _reset_timeout(self, duration: float | None = None) -> None:
        """aiosmtpd's timer, without a new one on every command: the deadline moves, and the timer
        already armed (for an earlier time) re-arms itself for the deadline when it runs. The
        connection is closed at the same time as with aiosmtpd's cancel-and-reschedule."""
        deadline = self.loop.time() + (duration or self._timeout_duration)
        self._deadline = deadline
        handle = self._timeout_handle
        if handle is not None and self._timer_armed and not handle.cancelled():
            if handle.when() <= deadline:
                return
            handle.cancel()  # a shorter timeout than the one armed
        self._timeout_handle = self.loop.call_at(deadline, self._timer_ran)
        self._timer_armed = True

    def _timer_ran(self) -> None:
        self._timer_armed = False
        if self.loop.time() < self._deadline:  # reset since it was armed: wait for the rest
            self._timeout_handle = self.loop.call_at(self._deadline, self._timer_ran)
            self._timer_armed = True
            return
        self._timeout_cb()

    # --- connection accounting ---------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if self._original_transport is None:  # not the re-entry after STARTTLS
            ip = address_of(transport.get_extra_info("peername"))
            client = str(ip)
            insider = self.gw_handler.in_allowed_clients(ip)
            refusal = self._admit(client, insider)
            if refusal is not None:
                self._refused = True
                assert isinstance(transport, asyncio.WriteTransport)
                transport.write(refusal)
                transport.close()
                reason = refusal[4:-2].decode()
                repeated = self.shared.refusal(client, reason, time.monotonic())
                if repeated:
                    open_now = len(self.shared.connections)
                    log.warning(
                        "connection from %s refused (%s), %d open; %d such refusal(s) since this was last logged",
                        client,
                        reason,
                        open_now,
                        repeated,
                    )
                return
            self.shared.connections.add(self)
            self.shared.per_client[client] += 1
            self.shared.outsiders += 0 if insider else 1
            self._counted = (client, insider)
        super().connection_made(transport)

    def _admit(self, client: str, insider: bool) -> bytes | None:
        """None to take the connection, else the reply that refuses it."""
        shared, config = self.shared, self.shared.config
        if shared.closing or len(shared.connections) >= config.max_connections:
            return R_TOO_MANY_CONNECTIONS
        if not insider:
            if not self.gw_handler.auth_offered:  # it could never send: refuse before it holds a slot
                return R_CLIENT_NOT_AUTHORIZED
            if shared.outsiders >= config.max_connections - config.connections_reserved:
                return R_TOO_MANY_CONNECTIONS
        if shared.per_client[client] >= config.connections_per_client:
            return R_TOO_MANY_FROM_CLIENT
        return None

    def connection_lost(self, error: Exception | None) -> None:
        if self._refused:
            return
        if self._counted is not None:
            client, insider = self._counted
            self.shared.connections.discard(self)
            self.shared.per_client[client] -= 1
            if self.shared.per_client[client] <= 0:
                del self.shared.per_client[client]
            self.shared.outsiders -= 0 if insider else 1
            self._counted = None
        super().connection_lost(error)

    def eof_received(self) -> bool | None:
        if self._refused:
            return False
        return super().eof_received()

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        super().data_received(data)

    async def close_idle(self) -> None:
        """Shutdown: say 421 and close, unless a message is being received."""
        if self.in_data or self.transport is None:
            return
        with contextlib.suppress(Exception):  # the client may be gone already
            await self.push(R_SHUTTING_DOWN)
        if self.transport is not None:
            self.transport.close()

    # --- commands ----------------------------------------------------------------------------

    async def smtp_MAIL(self, arg: str | None) -> None:
        if await self.check_helo_needed():
            return
        assert self.envelope is not None
        rest = self._strip_command_keyword("FROM:", arg or "")
        if rest is None:
            await self.push("501 5.5.4 Syntax: MAIL FROM:<address> [parameters]")
            return
        if self.envelope.mail_from is not None:
            await self.push("503 5.5.1 Error: nested MAIL command")
            return
        await self.push(await self.gw_handler.handle_MAIL(self, self._sess(), self.envelope, rest))

    async def smtp_RCPT(self, arg: str | None) -> None:
        if await self.check_helo_needed():
            return
        assert self.envelope is not None
        if self.envelope.mail_from is None:
            await self.push("503 5.5.1 Error: need MAIL command")
            return
        rest = self._strip_command_keyword("TO:", arg or "")
        if rest is None:
            await self.push("501 5.5.4 Syntax: RCPT TO:<address>")
            return
        await self.push(await self.gw_handler.handle_RCPT(self, self._sess(), self.envelope, rest))

    async def smtp_DATA(self, arg: str) -> None:
        if await self.check_helo_needed():
            return
        assert self.envelope is not None
        if self.envelope.mail_from is None:
            await self.push("503 5.5.1 Error: need MAIL command")
            return
        if not self.envelope.rcpt_tos:
            await self.push("503 5.5.1 Error: need RCPT command")
            return
        if arg:
            await self.push("501 5.5.4 Syntax: DATA")
            return
        if self.shared.closing:
            await self.push(R_SHUTTING_DOWN)
            return
        if self.shared.data_in_flight >= self.shared.config.max_concurrent_data:
            log.warning("DATA deferred: %d transfers in progress", self.shared.data_in_flight)
            await self.push(R_DATA_BUSY)
            return
        self.shared.data_in_flight += 1
        self.in_data = True
        try:
            await self.push("354 End data with <CR><LF>.<CR><LF>")
            raw, problem = await self._read_data()
            if problem == R_DATA_TOO_SLOW:  # a slow-drip client: hang up, do not wait for its end
                await self.push(problem)
                if self.transport is not None:
                    self.transport.close()
                return
            if problem is not None:
                status = problem
            else:
                self.envelope.content = self.envelope.original_content = raw
                self._reset_timeout()  # the store write gets a full timeout of its own
                try:
                    status = await self.gw_handler.handle_DATA(self, self._sess(), self.envelope)
                except asyncio.CancelledError:
                    raise
                except Exception as e:
                    status = await self.gw_handler.handle_exception(e)
            self._set_post_data_state()
            await self.push(status)
        finally:
            self.in_data = False
            self.shared.data_in_flight -= 1

    async def _read_data(self) -> tuple[bytes, str | None]:
        """Read dot-terminated content. Returns (content, None) or (b"", rejection reply).

        Lines are CRLF-terminated (RFC 5321 §2.3.8): only `.` CRLF right after a CRLF ends the data,
        and only a dot right after a CRLF is removed (§4.5.2); a dot after a bare LF is content, kept
        as it came. The line-length limit counts every line up to its LF, bare-LF lines too.

        The complete lines the reader holds are taken as one block (up to the terminator, if it is
        there) and checked with bytes operations; a line not yet complete is read with readuntil,
        whose limit catches an over-long line that spans reads (dropped, read to the end, answered
        then: RFC 5321 §4.2.5). tests/unit/test_smtp_read_data.py holds the line-by-line form
        this must agree with.
        """
        config = self.shared.config
        limit, max_size = config.max_line_length, config.max_message_size
        reader = self._reader
        loop = asyncio.get_running_loop()
        data = bytearray()
        problem: str | None = None
        at_crlf_start = True  # the previous line ended with CRLF
        continuation = False  # the previous read was part of an over-long line
        chunk_ended_cr = False  # ... and ended with CR (the LF may come in the next read)
        started = last_reset = loop.time()
        keepalive = config.timeout / 4
        while True:
            # Peeked only: everything is consumed through the reader's own methods.
            buffered: bytearray = reader._buffer  # type: ignore[attr-defined]
            end = 0 if continuation else buffered.rfind(b"\n") + 1
            if end:  # complete lines are buffered: all of them up to the terminator, at once
                if at_crlf_start and buffered.startswith(b".\r\n"):
                    await reader.readexactly(3)
                    break
                dot = buffered.find(b".", 0, end)  # one byte: memchr, where the terminator cannot hide
                term = -1 if dot < 0 else buffered.find(b"\r\n.\r\n", max(dot - 2, 0), end)
                block = await reader.readexactly(end if term < 0 else term + 2)
                if problem is None:
                    problem = _take_lines(data, block, at_crlf_start, limit, max_size)
                    if problem is not None:
                        data = bytearray()
                at_crlf_start = block.endswith(b"\r\n")
            else:  # one line, as it comes
                try:
                    seg = await reader.readuntil(b"\n")
                except asyncio.LimitOverrunError as e:
                    # Over-long line: drop it, keep reading to the end, then answer.
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
            if now - started > config.max_data_seconds:  # lines keep coming, but too slowly to end
                return b"", R_DATA_TOO_SLOW
            if now - last_reset > keepalive:  # data is flowing: not idle
                self._reset_timeout()
                last_reset = now
        if problem is not None:
            return b"", problem
        return bytes(data), None

    def _sess(self) -> Any:
        assert self.session is not None
        return self.session


def _first_long_line(block: bytes, limit: int) -> int:
    """Where the first line of more than `limit` octets (its LF counted) starts in `block` (complete
    lines), or -1. Each step goes to the last LF within `limit` octets of the previous one: a few
    steps per block for a limit of 64 KB, and none of them walks a line twice."""
    last_lf, end = -1, len(block) - 1
    while last_lf < end:
        found = block.rfind(b"\n", last_lf + 1, last_lf + 1 + limit)
        if found < 0:
            return last_lf + 1
        last_lf = found
    return -1


def _take_lines(data: bytearray, block: bytes, at_crlf_start: bool, limit: int, max_size: int) -> str | None:
    """Append complete lines (`block` ends with LF, holds no terminator), dot-unstuffed, to `data`.

    The first problem in line order wins, as when the lines are taken one by one: content beyond
    max_size before the first over-long line is R_DATA_TOO_BIG, else the over-long line is
    R_LINE_TOO_LONG. `at_crlf_start`: the line before the block ended with CRLF.
    """
    long_at = _first_long_line(block, limit)
    lines = block if long_at < 0 else block[:long_at]
    skip = 1 if at_crlf_start and lines[:1] == b"." else 0
    # A dot right after CRLF (the lines hold no terminator). Most blocks have no dot at all.
    unstuffed = lines.replace(b"\r\n.", b"\r\n") if b"." in lines else lines
    if len(data) + len(unstuffed) - skip > max_size:
        return R_DATA_TOO_BIG
    if long_at >= 0:
        return R_LINE_TOO_LONG.format(limit)
    data += memoryview(unstuffed)[skip:]
    return None


@dataclass
class SmtpServerHandle:
    """A listening SMTP server. `port` is the bound port (useful with port 0)."""

    server: asyncio.Server
    shared: _Shared
    handler: ReceiveHandler
    port: int

    @property
    def sockets(self) -> list[socket.socket]:
        return list(self.server.sockets)

    async def close(self, grace: float = 10.0) -> None:
        """Stop accepting, let transfers in flight finish (up to `grace` seconds), then close all."""
        self.shared.closing = True
        self.server.close()
        for conn in list(self.shared.connections):
            await conn.close_idle()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace
        while (self.shared.data_in_flight or self.handler.in_flight) and loop.time() < deadline:
            await asyncio.sleep(0.05)
        for conn in list(self.shared.connections):
            if conn.transport is not None:
                conn.transport.close()
        await self.server.wait_closed()


def tls_context(config: SmtpConfig) -> ssl.SSLContext | None:
    if not config.tls_cert or not config.tls_key:
        return None
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(str(config.tls_cert), str(config.tls_key))
    return ctx


def protocol_options(
    config: SmtpConfig,
    tls: ssl.SSLContext | None,
    authenticator: Authenticator,
    auth_offered: bool,
    loop: asyncio.AbstractEventLoop,
) -> dict[str, Any]:
    """aiosmtpd's SMTP keyword arguments for every connection of a server."""
    return {
        "data_size_limit": config.max_message_size,
        "hostname": config.hostname,
        "ident": "ESMTP",  # no software name and version in the banner
        "tls_context": tls,
        "require_starttls": config.require_tls and tls is not None,
        "timeout": config.timeout,
        "auth_require_tls": True,
        "authenticator": authenticator,
        "auth_exclude_mechanism": [] if auth_offered else ["LOGIN", "PLAIN"],
        "command_call_limit": {"AUTH": MAX_AUTH_ATTEMPTS, "*": 2**31},
        "loop": loop,
    }


async def start_smtp_server(config: SmtpConfig, accept: Accept) -> SmtpServerHandle:
    """Listen on config.listen (SO_REUSEPORT, so several processes can share the port)."""
    host, port = parse_host_port(config.listen)
    tls = tls_context(config)
    authenticator = Authenticator(config.auth_users)
    auth_offered = authenticator.configured and tls is not None
    if authenticator.configured and tls is None:
        log.warning("smtp.auth_users is set but no tls_cert/tls_key: AUTH is only offered after STARTTLS")
    handler = ReceiveHandler(config, accept, auth_offered=auth_offered)
    shared = _Shared(config)
    loop = asyncio.get_running_loop()

    factory = GatewaySMTP.template(handler, shared, **protocol_options(config, tls, authenticator, auth_offered, loop))

    server = await loop.create_server(factory, host=host or None, port=port, reuse_port=True, reuse_address=True)
    handle = SmtpServerHandle(server, shared, handler, int(server.sockets[0].getsockname()[1]))
    log.info("SMTP listening on %s:%d (tls=%s, auth=%s)", host, handle.port, tls is not None, auth_offered)
    return handle
