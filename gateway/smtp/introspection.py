"""aiosmtpd 1.4.x looks its own class and the handler over on every connection (dir(), inspect.
getmembers(), inspect.signature()) to find its smtp_*, auth_* and handle_* methods: about a third of
the CPU a short SMTP session costs. The answer depends only on the classes, so it is computed once
per class here and given to aiosmtpd.smtp in place of those calls (they are looked up as globals of
that module, so nothing else changes). The members are still bound per instance, so each connection
gets methods of its own protocol object, exactly as before: tests/unit/test_smtp_introspection.py
compares the result with the uncached one.

This relies on how aiosmtpd.smtp uses `dir` and `inspect`, so pyproject bounds aiosmtpd to the 1.4
series, and the tests read aiosmtpd.smtp's source and fail when a release calls `dir()` other than to
pick prefixed names, or any `inspect` function other than the two cached here. Every other `inspect`
attribute reaches the real module through the stand-in anyway.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import aiosmtpd.smtp

_PREFIXES = ("smtp_", "handle_", "auth_")
MEMBERS_PREFIX = "auth_"  # the only members aiosmtpd.smtp asks inspect.getmembers for
_names: dict[tuple[type, str | tuple[str, ...]], list[str]] = {}
_signatures: dict[Any, inspect.Signature] = {}


def _prefixed(obj: object, prefixes: str | tuple[str, ...] = _PREFIXES) -> list[str]:
    """dir(obj) cut to the names aiosmtpd looks for (class attributes cached; instance ones added)."""
    cls = type(obj)
    names = _names.get((cls, prefixes))
    if names is None:
        names = _names[cls, prefixes] = [n for n in dir(cls) if n.startswith(prefixes)]
    own = [n for n in getattr(obj, "__dict__", ()) if n.startswith(prefixes) and n not in names]
    return sorted(names + own) if own else names


def _getmembers(obj: object) -> list[tuple[str, Any]]:
    """inspect.getmembers(obj) cut to the auth_ members: aiosmtpd.smtp keeps no others (a test reads
    its source for that), so the twenty-odd smtp_ and handle_ methods are not bound for nothing."""
    return [(name, getattr(obj, name)) for name in _prefixed(obj, MEMBERS_PREFIX)]


def _signature(func: Callable[..., Any]) -> inspect.Signature:
    key = getattr(func, "__func__", func)  # bound methods of one function share a signature
    sig = _signatures.get(key)
    if sig is None:
        sig = _signatures[key] = inspect.signature(func)
    return sig


CACHED_INSPECT = frozenset({"getmembers", "signature"})


class _CachedInspect:
    """`inspect` as aiosmtpd.smtp sees it: the two cached lookups, the real module for the rest."""

    getmembers = staticmethod(_getmembers)
    signature = staticmethod(_signature)

    def __getattr__(self, name: str) -> Any:
        return getattr(inspect, name)


def install() -> None:
    """Give aiosmtpd.smtp the cached lookups (idempotent)."""
    module: Any = aiosmtpd.smtp
    module.dir = _prefixed
    module.inspect = _CachedInspect()
