"""The per-class cache of aiosmtpd's method lookups (gateway/smtp/introspection.py) gives every
connection the same commands, hooks and AUTH mechanisms as aiosmtpd's own uncached lookups, bound to
that connection's own protocol object."""

from __future__ import annotations

import ast
import asyncio
import builtins
import inspect
from pathlib import Path
from typing import Any

import aiosmtpd.smtp
import pytest

from gateway.config import SmtpConfig
from gateway.smtp import introspection
from gateway.smtp.handler import ReceiveHandler
from gateway.smtp.server import GatewaySMTP, _Shared


async def _accept(envelope: Any, raw: bytes) -> str:
    return "id"


def _protocols(count: int) -> list[GatewaySMTP]:
    async def make() -> list[GatewaySMTP]:
        config = SmtpConfig()
        handler = ReceiveHandler(config, _accept, auth_offered=False)
        return [GatewaySMTP(handler, _Shared(config), hostname="gw.test") for _ in range(count)]

    return asyncio.run(make())


def test_commands_hooks_and_auth_match_the_uncached_lookups(monkeypatch: pytest.MonkeyPatch) -> None:
    (cached,) = _protocols(1)
    monkeypatch.setattr(aiosmtpd.smtp, "dir", builtins.dir)
    monkeypatch.setattr(aiosmtpd.smtp, "inspect", inspect)
    (plain,) = _protocols(1)
    assert sorted(cached._smtp_methods) == sorted(plain._smtp_methods)
    assert sorted(cached._handle_hooks) == sorted(plain._handle_hooks)
    assert {k: v.is_builtin for k, v in cached._auth_methods.items()} == {
        k: v.is_builtin for k, v in plain._auth_methods.items()
    }
    assert cached._ehlo_hook_ver == plain._ehlo_hook_ver == "new"
    assert {"DATA", "MAIL", "RCPT", "STARTTLS"} <= set(cached._smtp_methods)
    assert {"DATA", "MAIL", "RCPT"} <= set(cached._handle_hooks)


def test_each_connection_gets_methods_bound_to_itself() -> None:
    first, second = _protocols(2)
    for name, method in first._smtp_methods.items():
        assert method.__self__ is first
        assert second._smtp_methods[name].__self__ is second
    for mech in first._auth_methods.values():
        if callable(mech.method):  # aiosmtpd also picks up the handler's `auth_offered` flag
            assert mech.method.__self__ in (first, first.event_handler)


def test_cached_lookups_equal_the_real_ones() -> None:
    (smtp,) = _protocols(1)
    for obj in (smtp, smtp.event_handler):
        wanted = [n for n in dir(obj) if n.startswith(("smtp_", "handle_", "auth_"))]
        assert introspection._prefixed(obj) == wanted
        got = introspection._getmembers(obj)
        real = [(n, m) for n, m in inspect.getmembers(obj) if n.startswith("auth_")]
        assert [n for n, _ in got] == [n for n, _ in real]
        assert got == real  # bound methods compare equal when bound to the same object


def test_an_instance_attribute_with_a_known_prefix_is_seen() -> None:
    (smtp,) = _protocols(1)
    smtp.smtp_XTEST = lambda arg: None  # type: ignore[attr-defined]
    assert "smtp_XTEST" in introspection._prefixed(smtp)
    assert introspection._prefixed(smtp) == [n for n in dir(smtp) if n.startswith(("smtp_", "handle_", "auth_"))]
    smtp.auth_XTEST = lambda *args: None  # type: ignore[attr-defined]
    assert "auth_XTEST" in [n for n, _ in introspection._getmembers(smtp)]


def test_prefixed_with_and_without_instance_attributes_equals_dir() -> None:
    """Instance attributes with a prefix are seen, whatever else the instance holds."""

    class Plain:
        def smtp_A(self) -> None: ...

    for names in ([], ["x"], ["xsmtp_", "a\0b"], ["smtp_Z"], ["handle_Q", "y"], ["auth_Q"], ["z", "auth_"]):
        obj = Plain()
        for n in names:
            setattr(obj, n, 1)
        wanted = [n for n in dir(obj) if n.startswith(("smtp_", "handle_", "auth_"))]
        assert introspection._prefixed(obj) == wanted
        assert [n for n, _ in introspection._getmembers(obj)] == [n for n in dir(obj) if n.startswith("auth_")]


def _aiosmtpd_source() -> ast.Module:
    return ast.parse(Path(aiosmtpd.smtp.__file__).read_text(encoding="utf-8"))


def test_aiosmtpd_calls_no_other_inspect_function() -> None:
    """A new aiosmtpd that calls another inspect function must be looked at before it is allowed."""
    used = {
        node.attr
        for node in ast.walk(_aiosmtpd_source())
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "inspect"
    }
    assert used <= introspection.CACHED_INSPECT, f"aiosmtpd.smtp now uses inspect.{sorted(used)}"


def test_aiosmtpd_uses_dir_only_to_pick_prefixed_methods() -> None:
    """The cached dir() returns only smtp_/handle_/auth_ names: every dir() call in aiosmtpd.smtp must be
    the source of a comprehension that keeps names with one of those prefixes."""
    tree = _aiosmtpd_source()
    calls = [
        n for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "dir"
    ]
    filtered = []
    for comp in ast.walk(tree):
        if isinstance(comp, ast.DictComp | ast.ListComp | ast.SetComp | ast.GeneratorExp):
            for gen in comp.generators:
                source = ast.unparse(gen.iter)
                tests = " ".join(ast.unparse(cond) for cond in gen.ifs)
                if source.startswith("dir(") and ".startswith(" in tests:
                    prefix = tests.split(".startswith(", 1)[1]
                    if any(p in prefix for p in ("'smtp_'", "'handle_'", "'auth_'")):
                        filtered.append(source)
    assert len(calls) == len(filtered), "aiosmtpd.smtp calls dir() for something else than prefixed methods"


def test_aiosmtpd_keeps_only_auth_members_of_getmembers() -> None:
    """The cached getmembers returns only auth_ members: every inspect.getmembers() call in
    aiosmtpd.smtp must be the source of a comprehension that keeps names starting with auth_."""
    tree = _aiosmtpd_source()
    calls = [
        n
        for n in ast.walk(tree)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == "getmembers"
    ]
    filtered = []
    for comp in ast.walk(tree):
        if isinstance(comp, ast.DictComp | ast.ListComp | ast.SetComp | ast.GeneratorExp):
            for gen in comp.generators:
                source = ast.unparse(gen.iter)
                tests = [ast.unparse(cond) for cond in gen.ifs]
                if source.startswith("inspect.getmembers(") and any(t.endswith(".startswith('auth_')") for t in tests):
                    filtered.append(source)
    assert calls and len(calls) == len(filtered), "aiosmtpd.smtp keeps other members of inspect.getmembers()"


def test_other_inspect_functions_reach_the_real_module() -> None:
    introspection.install()
    stand_in = aiosmtpd.smtp.inspect  # type: ignore[attr-defined]
    assert stand_in.isclass(int) is True
    assert stand_in.iscoroutinefunction is inspect.iscoroutinefunction
