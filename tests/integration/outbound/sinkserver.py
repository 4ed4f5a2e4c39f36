"""An aiosmtpd recording sink that runs on the test's own event loop, for delivery tests.

Replies can be scripted per phase (MAIL, RCPT per address, DATA per envelope), and DATA can drop the
connection instead of answering. PIPELINING is offered if asked for. It counts connections, so tests
can see reuse and discards."""

from __future__ import annotations

import asyncio
import email
import email.policy
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from email.message import Message
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session


@dataclass(frozen=True)
class Got:
    mail_from: str  # "" for the null sender
    rcpt_tos: tuple[str, ...]
    data: bytes
    tls: bool = False

    @property
    def message(self) -> Message:
        return email.message_from_bytes(self.data, policy=email.policy.compat32)

    @property
    def is_notice(self) -> bool:
        return self.mail_from == ""


class _Handler:
    def __init__(self, sink: Sink) -> None:
        self.sink = sink

    async def handle_EHLO(
        self, server: SMTP, session: Session, envelope: Envelope, hostname: str, responses: list[str]
    ) -> list[str]:
        session.host_name = hostname
        if self.sink.pipelining:  # aiosmtpd reads commands line by line: pipelined ones too
            responses.insert(-1, "250-PIPELINING")
        return responses

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self.sink.drop_mail:
            self.sink.drop_mail -= 1
            assert isinstance(server.transport, asyncio.Transport)
            server.transport.abort()  # as if the server had closed the idle session
            return "421 4.4.2 gone"  # never reaches the client
        reply = self.sink.mail_reply(address) if self.sink.mail_reply else None
        if reply:
            return reply
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 2.1.0 Ok"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        reply = self.sink.rcpt_replies.get(address)
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 Ok"

    async def handle_RSET(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.sink.rsets += 1
        return "250 2.0.0 Ok"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        mail_from = "" if envelope.mail_from in ("<>", "") else str(envelope.mail_from)
        got = Got(mail_from, tuple(envelope.rcpt_tos), bytes(envelope.original_content or b""), session.ssl is not None)
        self.sink.data_started.set()
        if self.sink.hold_data is not None:
            await self.sink.hold_data.wait()
        if self.sink.drop_data:
            self.sink.drop_data -= 1
            self.sink.dropped.append(got)
            assert isinstance(server.transport, asyncio.Transport)
            server.transport.abort()  # no reply at all: the client sees the connection go away
            return "421 4.4.2 gone"  # never reaches the client
        reply = self.sink.data_reply(got) if self.sink.data_reply else None
        if reply:
            self.sink.refused.append(got)
            return reply
        self.sink.messages.append(got)
        self.sink.arrived.set()
        return "250 2.0.0 Ok: queued"


class Sink:
    """`async with Sink() as sink:` listens on 127.0.0.1:sink.port (0 = any free port)."""

    offer_pipelining = False

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        tls_context: ssl.SSLContext | None = None,
        credentials: tuple[str, str] | None = None,
        pipelining: bool | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.tls_context = tls_context  # offer STARTTLS with it
        # Offer PIPELINING (RFC 2920); by default as the class says (tests/integration/outbound/conftest.py)
        self.pipelining = Sink.offer_pipelining if pipelining is None else pipelining
        self.credentials = credentials  # require AUTH with these (plain text allowed: loopback tests)
        self.logins: list[tuple[str, bool]] = []  # (username, accepted)
        self.messages: list[Got] = []
        self.refused: list[Got] = []  # answered with data_reply
        self.dropped: list[Got] = []  # connection dropped at the end of DATA
        self.rcpt_replies: dict[str, str] = {}  # address -> e.g. "550 5.1.1 No such user"
        self.mail_reply: Callable[[str], str | None] | None = None
        self.data_reply: Callable[[Got], str | None] | None = None
        self.drop_data = 0  # drop the connection instead of answering the next N DATA commands
        self.drop_mail = 0  # drop the connection instead of answering the next N MAIL commands
        self.connections = 0
        self.rsets = 0
        self.arrived = asyncio.Event()
        self.data_started = asyncio.Event()
        self.hold_data: asyncio.Event | None = None  # DATA waits for it before answering
        self._server: asyncio.Server | None = None

    def _factory(self) -> SMTP:
        self.connections += 1
        if self.credentials is None:
            return SMTP(_Handler(self), hostname="sink.test", ident="sink", tls_context=self.tls_context)
        return SMTP(
            _Handler(self),
            hostname="sink.test",
            ident="sink",
            tls_context=self.tls_context,
            authenticator=self._authenticate,
            auth_required=True,
            auth_require_tls=False,
        )

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        assert isinstance(data, LoginPassword) and self.credentials is not None
        user, password = data.login.decode(), data.password.decode()
        ok = (user, password) == self.credentials
        self.logins.append((user, ok))
        return AuthResult(success=ok, handled=False)

    async def __aenter__(self) -> Sink:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(self._factory, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: Any) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None

    @property
    def notices(self) -> list[Got]:
        return [m for m in self.messages if m.is_notice]

    @property
    def relayed(self) -> list[Got]:
        return [m for m in self.messages if not m.is_notice]
