"""A recording SMTP sink on loopback (the next hop in integration tests), run in its own thread."""

from __future__ import annotations

import email
import email.policy
import threading
from collections.abc import Callable
from dataclasses import dataclass
from email.message import Message

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.support.net import free_port


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes

    @property
    def message(self) -> Message:
        return email.message_from_bytes(self.data, policy=email.policy.compat32)

    def header(self, name: str) -> str | None:
        value = self.message.get(name)
        return None if value is None else str(value)


def _sender(mail_from: str | None) -> str:
    """aiosmtpd reports the null sender as "<>"; the gateway's Envelope uses ""."""
    return "" if mail_from in (None, "", "<>") else mail_from


class _Recorder:
    def __init__(self, sink: RecordingSink) -> None:
        self.sink = sink

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        reply = self.sink.refuse_rcpt.get(address)
        if reply is not None:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 Ok"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        reply = self.sink.data_reply
        if reply is not None:
            return reply
        data = envelope.original_content or b""
        with self.sink.lock:
            self.sink.messages.append(Received(_sender(envelope.mail_from), tuple(envelope.rcpt_tos), bytes(data)))
            self.sink.arrived.notify_all()
        return "250 2.0.0 Ok: stored"


class RecordingSink:
    """`with RecordingSink() as sink:` listens on sink.port; sink.messages lists what arrived.

    Set `data_reply` to e.g. "451 4.3.0 try later" or "554 5.7.1 no" to refuse DATA."""

    def __init__(self, port: int | None = None) -> None:
        self.refuse_rcpt: dict[str, str] = {}  # address -> reply, e.g. "550 5.1.1 No such user"
        self.messages: list[Received] = []
        self.lock = threading.RLock()  # predicates of wait_until may call snapshot()
        self.arrived = threading.Condition(self.lock)
        self.data_reply: str | None = None
        self.port = port or free_port()
        self._controller = Controller(_Recorder(self), hostname="127.0.0.1", port=self.port, ready_timeout=10)

    def __enter__(self) -> RecordingSink:
        self._controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._controller.stop()

    def wait_for(self, count: int, timeout: float) -> bool:
        """Block until at least `count` messages arrived (True) or the timeout passed (False)."""
        with self.lock:
            return self.arrived.wait_for(lambda: len(self.messages) >= count, timeout=timeout)

    def wait_until(self, predicate: Callable[[list[Received]], bool], timeout: float) -> bool:
        """Block until `predicate(messages)` holds (True) or the timeout passed (False)."""
        with self.lock:
            return self.arrived.wait_for(lambda: predicate(self.messages), timeout=timeout)

    def snapshot(self) -> list[Received]:
        with self.lock:
            return list(self.messages)
