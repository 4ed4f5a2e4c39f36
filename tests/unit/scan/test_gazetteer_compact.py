"""The compact gazetteer (sorted tuples and arrays, issue 16) answers as the plain form did: each
municipality's towns a frozenset searched from the longest candidate down, the postal codes a dict.
The plain form is built here from the same data and asked the same questions."""

from __future__ import annotations

import random
from functools import cache

import pytest

from gateway.scan import gazetteer as G
from gateway.scan.gazetteer import _NUMBER, _SPELLING, Gazetteer, gazetteer, longest_prefix


class Plain:
    """The lookups as they were written before (dicts and frozensets of Python objects)."""

    def __init__(self, data: G.Data) -> None:
        self.keys: list[tuple[str, ...]] = []
        self.towns: list[frozenset[str]] = []
        self.codes: dict[int, int | tuple[int, ...]] = {}
        for i, (_, _, towns, extra, codes) in enumerate(data["municipalities"]):
            self.towns.append(frozenset(t for t in towns if not G._BLOCK_ONLY.fullmatch(t)))
            self.keys.append((*towns, *extra))
            for item in codes.split():
                code, _, n = item.partition(":")
                packed = i << 16 | (int(n) + 1)
                old = self.codes.get(int(code))
                if old is None:
                    self.codes[int(code)] = packed
                else:
                    self.codes[int(code)] = (*(old if isinstance(old, tuple) else (old,)), packed)

    def _place(self, packed: int) -> tuple[int, str]:
        i, n = packed >> 16, (packed & 0xFFFF) - 1
        return i, self.keys[i][n] if n >= 0 else ""

    @cache  # noqa: B019 - one per module
    def union(self, ids: tuple[int, ...]) -> frozenset[str]:
        return frozenset().union(*(self.towns[i] for i in ids))

    def town_at(self, folded: str, pos: int, ids: tuple[int, ...]) -> tuple[int, tuple[int, ...], str] | None:
        union = self.union(ids)
        longest = max(map(len, union), default=0)
        if not longest:
            return None
        window = folded[pos : pos + longest + 12]
        key: list[str] = []
        ends: list[int] = []
        p = 0
        for m in _NUMBER.finditer(window):
            key.append(window[p : m.start()])
            ends.extend(range(pos + p + 1, pos + m.start() + 1))
            key.append("#")
            ends.append(pos + m.end())
            p = m.end()
        key.append(window[p:])
        ends.extend(range(pos + p + 1, pos + len(window) + 1))
        s = "".join(key).translate(_SPELLING)
        for n in range(min(len(s), longest), 0, -1):
            candidate = s[:n]
            if candidate in union:
                having = tuple(i for i in ids if candidate in self.towns[i])
                return ends[n - 1], having, candidate
        return None

    def places_of_code(self, code: str) -> tuple[tuple[int, str], ...]:
        if len(code) != 7 or not code.isdigit():
            return ()
        packed = self.codes.get(int(code))
        if packed is None:
            return ()
        return tuple(self._place(p) for p in (packed if isinstance(packed, tuple) else (packed,)))

    def codes_of(self, ids: tuple[int, ...], town: str) -> set[str]:
        wanted = {(i, town) for i in ids}
        return {
            f"{code:07d}"
            for code, packed in self.codes.items()
            if any(self._place(p) in wanted for p in (packed if isinstance(packed, tuple) else (packed,)))
        }


@cache
def data() -> G.Data:
    return G._read(G.cache_path()) or G.build()


@pytest.fixture(scope="module")
def pair() -> tuple[Gazetteer, Plain]:
    return gazetteer(), Plain(data())


def test_town_at_as_the_plain_form(pair: tuple[Gazetteer, Plain]) -> None:
    g, plain = pair
    rnd = random.Random(16)
    id_sets = [(i,) for i in range(len(g.municipalities))]
    id_sets += sorted({ids for ids in g.by_name.values() if len(ids) > 1})
    noise = ("", "1", "12", "一", "十二", "-", "丁目", "3-4", "の", "が", "ヶ", "ケ", "町", "#", " ", "ビル", "区")
    checked = found = 0
    for ids in id_sets:
        towns = sorted(plain.union(ids))
        samples = rnd.sample(towns, min(5, len(towns))) if towns else []
        for town in [*samples, "", "存在しない町名"]:
            cut = town[: rnd.randint(0, len(town))] if rnd.random() < 0.3 else town
            before = rnd.choice(noise)
            text = before + cut.replace("#", str(rnd.randint(1, 30))) + rnd.choice(noise) + rnd.choice(noise)
            for pos in {0, len(before), rnd.randint(0, len(text))}:
                want = plain.town_at(text, pos, ids)
                assert g.town_at(text, pos, ids) == want, (ids, text, pos)
                checked += 1
                found += want is not None
    assert checked > 10_000 and found > checked // 5


def test_postal_codes_as_the_plain_form(pair: tuple[Gazetteer, Plain]) -> None:
    g, plain = pair
    rnd = random.Random(7)
    codes = [f"{c:07d}" for c in plain.codes]
    several = [c for c in codes if isinstance(plain.codes[int(c)], tuple)]
    assert several  # codes shared by several places keep their order
    for code in [*codes, *(f"{rnd.randrange(10**7):07d}" for _ in range(20_000)), "", "123456", "12345678", "abcdefg"]:
        assert g.places_of_code(code) == plain.places_of_code(code), code
    for code in rnd.sample(codes, 12) + several[:8]:
        for i, town in plain.places_of_code(code):
            ids = (i, rnd.randrange(len(g.municipalities)))
            assert g.codes_of(ids, town) == plain.codes_of(ids, town)
            assert g.codes_of(ids, "存在しない町名") == plain.codes_of(ids, "存在しない町名") == set()


def test_longest_prefix_is_the_longest_key_that_starts_the_text() -> None:
    rnd = random.Random(3)
    alphabet = "ab#c"
    for _ in range(3000):
        keys = tuple(sorted({"".join(rnd.choices(alphabet, k=rnd.randint(1, 5))) for _ in range(rnd.randint(0, 12))}))
        s = "".join(rnd.choices(alphabet, k=rnd.randint(0, 8)))
        plain = next((s[:n] for n in range(len(s), 0, -1) if s[:n] in keys), None)
        assert longest_prefix(keys, s) == plain, (keys, s)
