"""Allow- and deny-lists, global and per sender group, with named partners.

The most specific entry decides: an address entry beats a domain entry, a subdomain entry beats its
parent domain's. Between equally specific entries, deny beats allow. Group lists count like global
ones (for the group's senders), so a group can allow one address in a globally denied domain.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from gateway.config.recipients import RecipientLists, RecipientsConfig, SenderGroup
from gateway.recipients.domains import in_domain


class ListVerdict(StrEnum):
    ALLOW = "allow"
    DENY = "deny"


@dataclass(frozen=True)
class ListEntry:
    verdict: ListVerdict
    source: str  # "global" or "group:NAME"
    entry: str  # the address or domain as configured
    partner: str | None = None  # display name of a partner entry


@dataclass(frozen=True)
class ListMatch:
    verdict: ListVerdict | None  # None: on no list
    entry: ListEntry | None  # the entry that decided
    partner: str | None  # a partner's display name, if the recipient is at a listed partner


class _Index:
    def __init__(self, lists: RecipientLists, source: str) -> None:
        self.addresses: dict[str, list[ListEntry]] = {}
        self.domains: dict[str, list[ListEntry]] = {}
        for a in lists.allow_addresses:
            self.addresses.setdefault(a, []).append(ListEntry(ListVerdict.ALLOW, source, a))
        for a in lists.deny_addresses:
            self.addresses.setdefault(a, []).append(ListEntry(ListVerdict.DENY, source, a))
        for d in lists.allow_domains:
            self.domains.setdefault(d, []).append(ListEntry(ListVerdict.ALLOW, source, d))
        for d in lists.deny_domains:
            self.domains.setdefault(d, []).append(ListEntry(ListVerdict.DENY, source, d))
        for p in lists.partners:
            for a in p.addresses:
                self.addresses.setdefault(a, []).append(ListEntry(ListVerdict.ALLOW, source, a, p.name))
            for d in p.domains:
                self.domains.setdefault(d, []).append(ListEntry(ListVerdict.ALLOW, source, d, p.name))


def _group_has(group: SenderGroup, sender: str) -> bool:
    if not sender:
        return False
    domain = sender.rpartition("@")[2]
    return any(s == sender if "@" in s else in_domain(domain, s) for s in group.senders)


class RecipientListIndex:
    """Built once from the configuration; `match` is a few dict look-ups per recipient."""

    def __init__(self, config: RecipientsConfig) -> None:
        self._global = _Index(config, "global")
        self._groups = [(name, g, _Index(g, f"group:{name}")) for name, g in config.sender_groups.items()]

    def groups_of(self, sender: str) -> list[str]:
        """Names of the sender groups `sender` (normalised address) belongs to."""
        return [name for name, g, _ in self._groups if _group_has(g, sender)]

    def indexes_for(self, sender: str) -> list[_Index]:
        return [self._global] + [idx for _, g, idx in self._groups if _group_has(g, sender)]

    @staticmethod
    def match(indexes: list[_Index], address: str, domain: str) -> ListMatch:
        levels: list[list[ListEntry]] = [[e for idx in indexes for e in idx.addresses.get(address, ())]]
        labels = domain.split(".")
        for i in range(len(labels) - 1):
            d = ".".join(labels[i:])
            levels.append([e for idx in indexes for e in idx.domains.get(d, ())])
        decided: ListEntry | None = None
        partner: str | None = None
        for hits in levels:
            if not hits:
                continue
            if decided is None:
                deny = [e for e in hits if e.verdict is ListVerdict.DENY]
                decided = deny[0] if deny else hits[0]
                named = [e for e in hits if e.partner]
                if named and not deny:
                    decided = named[0]
            if partner is None:
                partner = next((e.partner for e in hits if e.partner), None)
        if decided is None:
            return ListMatch(None, None, None)
        if decided.verdict is ListVerdict.DENY:
            partner = None
        return ListMatch(decided.verdict, decided, partner)

    def all_domains(self) -> dict[str, str]:
        """Allowed and partner domains (and domains of allowed addresses) -> kind, for lookalikes."""
        out: dict[str, str] = {}
        for idx in [self._global] + [i for _, _, i in self._groups]:
            for d, entries in idx.domains.items():
                for e in entries:
                    if e.verdict is ListVerdict.ALLOW:
                        out.setdefault(d, "partner" if e.partner else "allowed")
                        if e.partner:
                            out[d] = "partner"
            for a, entries in idx.addresses.items():
                if any(e.verdict is ListVerdict.ALLOW for e in entries):
                    out.setdefault(a.rpartition("@")[2], "allowed")
        return out
