"""Organisations (registrable domains by the bundled Public Suffix List) and internal/affiliate/external.

`foo.co.jp` and `bar.co.jp` are different organisations; `mail.foo.co.jp` belongs to `foo.co.jp`.
The PSL is the copy bundled with `publicsuffixlist` (offline, never downloaded at run time).
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from functools import lru_cache

from publicsuffixlist import PublicSuffixList

from gateway.config.recipients import DEFAULT_EXTRA_SUFFIXES

_PSL = PublicSuffixList()


class RecipientClass(StrEnum):
    INTERNAL = "internal"
    AFFILIATE = "affiliate"
    EXTERNAL = "external"


def in_domain(domain: str, parent: str) -> bool:
    """True if `domain` is `parent` or one of its subdomains (label boundary, both normalised)."""
    return domain == parent or domain.endswith("." + parent)


class Organisations:
    """Registrable domain of a domain, with site rules added to the PSL (`extra_public_suffixes`)."""

    def __init__(self, extra_suffixes: Iterable[str] = DEFAULT_EXTRA_SUFFIXES) -> None:
        self.extra_suffixes = tuple(extra_suffixes)
        self._extra = [tuple(s.split(".")) for s in self.extra_suffixes]
        self.of = lru_cache(maxsize=65536)(self._of)

    def _suffix_len(self, labels: list[str]) -> int:
        """Number of labels of the longest extra suffix rule matching `labels` (0 if none)."""
        best = 0
        for rule in self._extra:
            if len(rule) >= len(labels):
                continue  # the name itself is a suffix: no registrable part
            tail = labels[-len(rule) :]
            if all(r == "*" or r == t for r, t in zip(rule, tail, strict=True)):
                best = max(best, len(rule))
        return best

    def _of(self, domain: str) -> str:
        """'a.b.foo.co.jp' -> 'foo.co.jp'. A bare public suffix is its own organisation."""
        labels = domain.split(".")
        psl_org = _PSL.privatesuffix(domain)
        extra = self._suffix_len(labels)
        if extra and (psl_org is None or extra + 1 > psl_org.count(".") + 1):
            return ".".join(labels[-(extra + 1) :])
        return psl_org or domain

    def suffix(self, org: str) -> str:
        """The public suffix part of an organisation domain ('foo.co.jp' -> 'co.jp')."""
        _, _, rest = org.partition(".")
        return rest

    def name(self, org: str) -> str:
        """The organisation's own label ('foo.co.jp' -> 'foo')."""
        return org.partition(".")[0]


class Classifier:
    """internal / affiliate / external for a normalised domain."""

    def __init__(self, internal: Iterable[str], affiliates: Iterable[str]) -> None:
        self.internal = tuple(internal)
        self.affiliates = tuple(affiliates)

    def classify(self, domain: str) -> RecipientClass:
        if any(in_domain(domain, d) for d in self.internal):
            return RecipientClass.INTERNAL
        if any(in_domain(domain, d) for d in self.affiliates):
            return RecipientClass.AFFILIATE
        return RecipientClass.EXTERNAL
