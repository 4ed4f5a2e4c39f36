"""Who is who, learned from delivered mail: which external organisation a name, a thread or a file
belongs to. It is what `misaddressed.py` compares a new message with.

Three kinds of facts are kept per external organisation (its registrable domain), each with the last
time it was seen (and so pruned like the recipient history, `recipients.history_retention_days`):
- names (`names`): keys from `names.py` of the organisation names and people the mail addressed
  (greeting lines, subject, attachment names and first lines), of the recipients' display names, and
  the short forms of organisation names; never text around them, never bodies;
- threads (`threads`): Message-ID, In-Reply-To and References of delivered mail -> organisations;
- files (`files`): SHA-256 of attachments -> organisations.

What a delivered message teaches is worked out at inspection (`Lesson`, carried on the queued
message as JSON) and written by the delivery recorder with the recipients actually delivered to.
Names are learned only from mail to exactly one external organisation (a greeting in mail to two
customers cannot be told apart); display names, threads and files from any.

Backends sit next to the recipient history and use the same store URL (`contacts_backends.py`):
`contacts_sqlite.py` (own tables in the store's file) and `contacts_redis.py` (own keys under the
prefix). All methods block.
"""

from __future__ import annotations

import abc
import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

# Kinds of names
ORG = "org"  # an organisation name ("エグザンプル")
PERSON = "person"  # a person addressed ("山田", "山田太郎")
NAME = "name"  # addressed by one word, organisation or person ("エグザンプル様")
SHORT = "short"  # a short form of an organisation name ("北斗" of "北斗物産")
DISPLAY = "display"  # a recipient's display name ("山田太郎")
SURNAME = "surname"  # the family name of a display name ("山田")

MAX_THREAD_IDS = 30  # References kept per message (the newest)
LESSON_VERSION = 1


@dataclass(frozen=True)
class NameRow:
    key: str
    kind: str
    org: str
    when: float


@dataclass
class Lesson:
    """What one message teaches, before it is known who it was delivered to."""

    recipient_orgs: dict[str, str] = field(default_factory=dict)  # external address -> organisation
    names: list[tuple[str, str]] = field(default_factory=list)  # (kind, key) of the content's addressees
    displays: dict[str, list[str]] = field(default_factory=dict)  # address -> [display key, surname key]
    threads: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)

    def to_json(self) -> str:
        if not self.recipient_orgs:
            return ""
        data = {
            "v": LESSON_VERSION,
            "r": self.recipient_orgs,
            "n": self.names,
            "d": self.displays,
            "t": self.threads,
            "f": self.files,
        }
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> Lesson | None:
        if not text:
            return None
        try:
            data = json.loads(text)
            if data.get("v") != LESSON_VERSION:
                return None
            return cls(
                recipient_orgs={str(k): str(v) for k, v in data["r"].items()},
                names=[(str(k), str(n)) for k, n in data["n"]],
                displays={str(a): [str(x) for x in v] for a, v in data["d"].items()},
                threads=[str(t) for t in data["t"]],
                files=[str(f) for f in data["f"]],
            )
        except (ValueError, KeyError, TypeError, AttributeError):
            log.warning("contact lesson not readable: ignored")
            return None


@dataclass
class Learned:
    """Rows ready for a backend."""

    names: list[NameRow] = field(default_factory=list)
    threads: list[tuple[str, str, float]] = field(default_factory=list)  # (message id, org, when)
    files: list[tuple[str, str, float]] = field(default_factory=list)  # (sha256, org, when)

    def __bool__(self) -> bool:
        return bool(self.names or self.threads or self.files)


def rows_of(lesson: Lesson, delivered: Iterable[str], when: float) -> Learned:
    """The rows one delivery teaches: only organisations actually delivered to count."""
    out = Learned()
    delivered = [a.lower() for a in delivered]
    orgs = list(dict.fromkeys(lesson.recipient_orgs[a] for a in delivered if a in lesson.recipient_orgs))
    if not orgs:
        return out
    if len(orgs) == 1:
        out.names.extend(NameRow(key, kind, orgs[0], when) for kind, key in lesson.names if key)
    for address in delivered:
        org = lesson.recipient_orgs.get(address)
        if org is None:
            continue
        display = lesson.displays.get(address, [])
        if display and display[0]:
            out.names.append(NameRow(display[0], DISPLAY, org, when))
        if len(display) > 1 and display[1]:
            out.names.append(NameRow(display[1], SURNAME, org, when))
    for org in orgs:
        out.threads.extend((t, org, when) for t in lesson.threads)
        out.files.extend((f, org, when) for f in lesson.files)
    return out


class ContactBook(abc.ABC):
    """The learned who-is-who; see the module docstring."""

    def learn(self, lesson: Lesson | str, delivered: Iterable[str], when: float) -> int:
        """Record what `lesson` teaches for the recipients delivered to; the rows written."""
        if isinstance(lesson, str):
            parsed = Lesson.from_json(lesson)
            if parsed is None:
                return 0
            lesson = parsed
        rows = rows_of(lesson, delivered, when)
        if rows:
            self._write(rows)
        return len(rows.names) + len(rows.threads) + len(rows.files)

    def learn_many(self, items: Iterable[tuple[Lesson | str, Sequence[str], float]]) -> int:
        total = Learned()
        for lesson, delivered, when in items:
            if isinstance(lesson, str):
                parsed = Lesson.from_json(lesson)
                if parsed is None:
                    continue
                lesson = parsed
            rows = rows_of(lesson, delivered, when)
            total.names.extend(rows.names)
            total.threads.extend(rows.threads)
            total.files.extend(rows.files)
        if total:
            self._write(total)
        return len(total.names) + len(total.threads) + len(total.files)

    @abc.abstractmethod
    def _write(self, rows: Learned) -> None: ...

    @abc.abstractmethod
    def names(self, keys: Sequence[str], since: float) -> list[NameRow]:
        """Every (key, kind, organisation) recorded for these keys, last seen at or after `since`."""

    @abc.abstractmethod
    def thread_orgs(self, ids: Sequence[str], since: float) -> set[str]:
        """Organisations that mail with any of these Message-IDs went to."""

    @abc.abstractmethod
    def file_orgs(self, digests: Sequence[str], since: float) -> dict[str, set[str]]:
        """digest -> organisations it was sent to (digests never sent are left out)."""

    @abc.abstractmethod
    def counts(self) -> dict[str, int]:
        """{'names': n, 'threads': m, 'files': k} rows."""

    @abc.abstractmethod
    def prune(self, before: float) -> dict[str, int]:
        """Forget what was last seen before `before`; the rows removed per kind."""

    @abc.abstractmethod
    def clear(self) -> None: ...

    @abc.abstractmethod
    def close(self) -> None: ...
