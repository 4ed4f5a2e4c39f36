"""Lookalike domains: a recipient organisation close to a known one but not equal to it.

Known ("protected") organisations are the internal, affiliate, allow-listed and partner domains, the
configured `protected_domains` and the most-mailed organisations from the delivery history. A
recipient organisation is compared by its name (the label before the public suffix) in these ways,
each giving a reason that names the imitated domain:

- homoglyph: an IDN whose characters look like the known name (Cyrillic 'а' for Latin 'a' ...),
  by the Unicode confusables table shipped with confusable-homoglyphs, after NFKC;
- confusable: ASCII look-alikes 1/l/i, 0/o, rn/m, vv/w;
- swapped: two neighbouring letters exchanged (partner-bnak for partner-bank);
- typo: edit distance within the configured limit (rapidfuzz);
- other_tld: the same name under another suffix (sakura-shoji.co for sakura-shoji.co.jp);
- embedded: the known domain used as a subdomain of a foreign one (sakura-shoji.co.jp.example.net).

A recipient that is itself known is not compared (two partners example.com and example.org are not
lookalikes of each other) unless `check_known_domains` is set.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from confusable_homoglyphs import categories, confusables
from rapidfuzz import process
from rapidfuzz.distance import OSA, Levenshtein

from gateway.config.recipients import LookalikeConfig
from gateway.mail.addresses import unicode_domain, unicode_label
from gateway.recipients.domains import Organisations


class LookalikeReason(StrEnum):
    HOMOGLYPH = "homoglyph"
    CONFUSABLE = "confusable"
    SWAPPED = "swapped"
    EMBEDDED = "embedded"
    OTHER_TLD = "other_tld"
    TYPO = "typo"


# Kinds of known organisations, most important first (the reason names the most important one).
KIND_ORDER = ("internal", "affiliate", "partner", "allowed", "protected", "frequent")
_REASON_ORDER = list(LookalikeReason)


@dataclass(frozen=True)
class LookalikeMatch:
    of: str  # the known organisation imitated (ASCII form)
    kind: str  # one of KIND_ORDER
    reason: LookalikeReason
    distance: int  # edit distance of the names (0 for homoglyph/confusable/other_tld/embedded)


def _build_homoglyph_map() -> dict[str, str]:
    """Non-ASCII character -> the ASCII letter or digit it can be mistaken for."""
    ok = set("abcdefghijklmnopqrstuvwxyz0123456789-")
    table: dict[str, str] = {}
    for char, glyphs in confusables.confusables_data.items():
        if len(char) != 1 or char.isascii():
            continue
        for g in glyphs:
            c = g["c"].lower()
            if len(c) == 1 and c in ok:
                table[char] = c
                break
    return table


_HOMOGLYPHS = _build_homoglyph_map()
_ASCII_CONFUSABLE = str.maketrans({"1": "l", "i": "l", "|": "l", "0": "o"})


def skeleton(name: str) -> str:
    """A form in which look-alike names are equal: 'sakura-shoj1' and 'sakura-shoji' -> 'sakura-shojl'."""
    s = unicodedata.normalize("NFKC", name).casefold()
    s = "".join(_HOMOGLYPHS.get(c, c) for c in s)
    return s.translate(_ASCII_CONFUSABLE).replace("rn", "m").replace("vv", "w")


_JAPANESE = frozenset({"HAN", "HIRAGANA", "KATAKANA"})


def is_mixed_script(domain: str) -> bool:
    """A label mixing scripts (Latin with Cyrillic ...), the usual homograph trick. Kanji, hiragana
    and katakana together are one writing system (例え, ソフト株式会社), not a mix."""
    for label in unicode_domain(domain).split("."):
        if label.isascii():
            continue
        found = set(categories.unique_aliases(label)) - {"COMMON"}
        groups = {"JAPANESE" if s in _JAPANESE else s for s in found}
        if len(groups) > 1:
            return True
    return False


class LookalikeIndex:
    """The known organisations, indexed for quick comparison; `check` is cached per organisation."""

    def __init__(self, known: Mapping[str, str], orgs: Organisations, config: LookalikeConfig) -> None:
        """`known`: organisation (ASCII registrable domain) -> kind (one of KIND_ORDER)."""
        self.config = config
        self.orgs = orgs
        self.known = dict(known)
        self._by_skeleton: dict[str, list[str]] = {}
        self._by_name: dict[str, list[str]] = {}
        for org in self.known:
            name = self._uname(org)
            self._by_name.setdefault(name, []).append(org)
            self._by_skeleton.setdefault(skeleton(name), []).append(org)
        self._names = [n for n in self._by_name if len(n) >= config.min_name_length]
        self._ignore = set(config.ignore_domains)
        self._cache: dict[str, LookalikeMatch | None] = {}

    def _uname(self, org: str) -> str:
        try:
            return unicode_label(self.orgs.name(org))
        except ValueError:
            return self.orgs.name(org)

    def _better(self, a: LookalikeMatch, b: LookalikeMatch | None) -> bool:
        if b is None:
            return True
        ka = (_REASON_ORDER.index(a.reason), KIND_ORDER.index(a.kind), a.distance, a.of)
        kb = (_REASON_ORDER.index(b.reason), KIND_ORDER.index(b.kind), b.distance, b.of)
        return ka < kb

    def check(self, domain: str, org: str) -> LookalikeMatch | None:
        """The known organisation that `domain` (of organisation `org`) imitates, or None."""
        if not self.config.enabled or org in self._ignore or domain in self._ignore:
            return None
        if org in self.known and not self.config.check_known_domains:
            return None
        key = f"{domain}|{org}"
        if key in self._cache:
            return self._cache[key]
        result = self._check(domain, org)
        if len(self._cache) > 50_000:
            self._cache.clear()
        self._cache[key] = result
        return result

    def _check(self, domain: str, org: str) -> LookalikeMatch | None:
        best: LookalikeMatch | None = None

        def offer(ref: str, reason: LookalikeReason, distance: int) -> None:
            nonlocal best
            if ref == org:
                return
            m = LookalikeMatch(ref, self.known[ref], reason, distance)
            if self._better(m, best):
                best = m

        name = self._uname(org)
        for ref in self._by_skeleton.get(skeleton(name), ()):
            ref_name = self._uname(ref)
            if ref_name == name:
                offer(ref, LookalikeReason.OTHER_TLD, 0)
            elif not name.isascii():
                offer(ref, LookalikeReason.HOMOGLYPH, 0)
            else:
                offer(ref, LookalikeReason.CONFUSABLE, 0)
        if len(name) >= self.config.min_name_length:
            limit = (
                self.config.max_distance_long if len(name) >= self.config.long_name_length else self.config.max_distance
            )
            if limit:
                for ref_name, dist, _ in process.extract(
                    name, self._names, scorer=OSA.distance, score_cutoff=limit, limit=None
                ):
                    if dist == 0:
                        continue
                    ref_limit = (
                        self.config.max_distance_long
                        if len(ref_name) >= self.config.long_name_length
                        else self.config.max_distance
                    )
                    if dist > ref_limit:
                        continue
                    swapped = dist == 1 and Levenshtein.distance(name, ref_name) == 2
                    for ref in self._by_name[ref_name]:
                        offer(ref, LookalikeReason.SWAPPED if swapped else LookalikeReason.TYPO, int(dist))
        # The known domain as a subdomain of a foreign one: sakura-shoji.co.jp.example.net
        prefix = domain[: -len(org)].rstrip(".").split(".") if domain != org else []
        for i in range(len(prefix)):
            for j in range(i + 2, len(prefix) + 1):
                candidate = ".".join(prefix[i:j])
                if candidate in self.known:
                    offer(candidate, LookalikeReason.EMBEDDED, 0)
        return best
