"""Notification mails rendered from templates/mail/ (Japanese or English) and queued on the outbound
queue as notices: from the null sender, `is_notice`, never inspected again (like DSNs).

Kinds: held (to the sender, one link), delayed (to the sender, a link to cancel), approval (to an
approver, one link), reminder (to whoever has to act, a fresh link), result (released, rejected with
the approver's comment, expired, discarded), rejected (the verdict was reject), shunted (the gateway
failed on the message and stopped it for an administrator: where a human must act).

A template's first line is `Subject: ...`, then an empty line, then the body.
"""

from __future__ import annotations

import asyncio
import email.parser
import email.policy
import itertools
import logging
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.header import Header
from email.mime.text import MIMEText
from pathlib import Path
from typing import Any, cast

import jinja2

from gateway.config import Config
from gateway.hold.details import complete
from gateway.hold.labels import Labels
from gateway.mail.compose import own_headers, queued_notice
from gateway.mail.safe_text import defang, one_line, quoted
from gateway.message import QueuedMessage
from gateway.resources import shipped
from gateway.store.base import Queue, Store

log = logging.getLogger(__name__)

TEMPLATES = shipped("templates")
FROM_NAME = "メール誤送信防止 / Mail Gateway"
_CRLF = email.policy.compat32.clone(linesep="\r\n")
_LINE_END = re.compile(r"\r\n|\r|\n")


SUBJECT_CHARS = 200


@jinja2.pass_context
def _quoted(context: jinja2.runtime.Context, value: object, limit: int = 200) -> str:
    return quoted(value, str(context.get("language", "ja")), limit)


def _line(value: object, limit: int = 200) -> str:
    return defang(one_line(value, limit))


def _block(value: object, indent: str = "  ", limit: int = 1000) -> str:
    """A person's comment: kept on its lines, each indented and defanged, control characters dropped."""
    text = "" if value is None else str(value)[:limit]
    lines = [defang(one_line(line, limit)) for line in text.splitlines()]
    return "\n".join(indent + "| " + line for line in lines if line)


def mail_environment(directory: Path = TEMPLATES) -> jinja2.Environment:
    """Text mail. Whatever came from a message goes through `q` (one quoted, defanged line) or `line`
    (one defanged line); a person's comment through `block`. See gateway.mail.safe_text."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(directory / "mail")),
        autoescape=False,  # text/plain mail
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(q=_quoted, line=_line, block=_block)
    return env


@dataclass(frozen=True)
class NoticeSettings:
    """What notices need to know: languages, where the links point, who the gateway is."""

    language: str = "ja"  # hold.language
    languages: Mapping[str, str] = field(default_factory=dict)  # hold.languages: address -> ja/en
    base_url: str = "http://localhost:8025"  # web.base_url
    postmaster: str = "postmaster@localhost"  # From: of every notice
    helo_name: str = "localhost"  # relay.helo_name, the domain of Message-IDs
    time_zone: str = "Asia/Tokyo"  # hold.time_zone: times in notices, with the zone shown

    @classmethod
    def of(cls, config: Config) -> NoticeSettings:
        return cls(
            config.hold.language,
            config.hold.languages,
            config.web.base_url,
            config.postmaster,
            config.relay.helo_name,
            config.hold.time_zone,
        )


_PLAIN_WORD = re.compile(r"[A-Za-z0-9!#$%&'*+\-/:;<=>?@\[\]^_`{|}~.,]+")


def _plain(word: str) -> bool:
    return bool(_PLAIN_WORD.fullmatch(word)) and "=?" not in word


def subject_header(subject: str) -> Header:
    """The Subject as policy.default writes it: ASCII words as they are (a filter or a person reading
    the raw header sees "[Not sent]"), each run of other words one encoded word (UTF-8), folded.
    `subject` is one line with single spaces (one_line). Plain are words of letters, digits and the
    punctuation a reader takes as text: one with a backslash, quote or parenthesis (which mail readers
    parse as quoted pairs and comments) or that could read as an encoded word ("=?") is encoded too."""
    header = Header(header_name="Subject")
    for plain, words in itertools.groupby(subject.split(" "), key=_plain):
        header.append(" ".join(words), "us-ascii" if plain else "utf-8")
    return header


class Notifier:
    def __init__(self, store: Store, settings: NoticeSettings, directory: Path = TEMPLATES) -> None:
        self.store = store
        self.settings = settings
        self.env = mail_environment(directory)

    def language(self, address: str) -> str:
        return self.settings.languages.get(address.lower(), self.settings.language)

    def link(self, hold_id: str, secret: str) -> str:
        return f"{self.settings.base_url.rstrip('/')}/h/{hold_id}/{secret}"

    def render(self, kind: str, lang: str, **context: Any) -> tuple[str, str]:
        if isinstance(context.get("details"), dict):
            context["details"] = complete(context["details"])
        labels = Labels(lang, self.settings.time_zone)
        text = self.env.get_template(f"{kind}.{lang}.txt").render(language=lang, labels=labels, **context)
        head, _, body = text.partition("\n\n")
        if not head.startswith("Subject: "):
            raise ValueError(f"template {kind}.{lang}.txt must start with 'Subject: '")
        return head[len("Subject: ") :].strip(), body

    def build(self, to: str, subject: str, body: str, now: float | None = None) -> tuple[QueuedMessage, bytes]:
        """The notice's queue entry and bytes: text/plain in UTF-8, base64, CRLF throughout.

        Built with the email package's compat32 classes (MIMEText, Header): the same headers and body as
        EmailMessage + set_content, in a seventh of the time (a Japanese subject folded by
        policy.default cost about 1.6 ms, and every held message gets a notice)."""
        now = time.time() if now is None else now
        # The body as set_content made it: each line ended by LF, the last one too.
        lines = _LINE_END.split(body)
        if lines[-1] == "":
            lines.pop()
        mail = MIMEText("".join(line + "\n" for line in lines) or "\n", "plain", "utf-8")
        mime = [(name, mail[name]) for name in ("Content-Type", "Content-Transfer-Encoding", "MIME-Version")]
        for name, _ in mime:
            del mail[name]
        own = own_headers(
            from_name=FROM_NAME,
            from_address=self.settings.postmaster,
            to=to,
            now=now,
            domain=self.settings.helo_name,
            auto_submitted="auto-generated",
            kind="notice",
        )
        for name, value in own:
            mail[name] = value
        # never a second header, whatever a template made; compat32 folds a Header into encoded words
        # (typeshed types the value as str only)
        mail["Subject"] = cast(str, subject_header(one_line(subject, SUBJECT_CHARS)))
        mail["X-Auto-Response-Suppress"] = "All"
        for name, value in mime:
            mail[name] = value
        return queued_notice(to, now), mail.as_bytes(policy=_CRLF)

    async def send(self, kind: str, to: str, **context: Any) -> str:
        """Queue one notice to `to` in their language; returns its queue id."""
        language = self.language(to)
        subject, body = self.render(kind, language, **context)
        message, raw = self.build(to, subject, body)
        await asyncio.to_thread(self.store.accept, [(message, raw)], Queue.OUTBOUND)
        log.info("notice %s queued: %s (%s)", message.id, kind, language)
        return message.id

    async def shunted(self, message: QueuedMessage, raw: bytes | None) -> str | None:
        """Tell the sender that the message was stopped for an administrator (queued as a notice).

        None for mail that gets no notice (the null sender, a notice itself)."""
        sender = message.envelope.mail_from
        if not sender or message.is_notice:
            return None
        return await self.send(
            "shunted",
            sender,
            sender=sender,
            subject=one_line_subject(raw),
            received=time.strftime("%Y-%m-%d %H:%M %Z", time.localtime(message.received_at)),
            recipients=len(message.envelope.rcpt_tos),
            queue_id=message.id,
            postmaster=self.settings.postmaster,
        )


def one_line_subject(raw: bytes | None, limit: int = 120) -> str:
    """The message's subject as one line without control characters ("" when it cannot be read)."""
    if not raw:
        return ""
    try:
        headers = email.parser.BytesHeaderParser(policy=email.policy.default).parsebytes(raw)
        subject = str(headers.get("Subject", "") or "")
    except Exception:  # a broken header is no reason to leave the sender uninformed
        return ""
    return "".join(c if c.isprintable() else " " for c in subject)[:limit]
