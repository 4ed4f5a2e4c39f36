"""GatewaySMTP.template: a connection made from the template holds what aiosmtpd's full __init__
gives, attribute by attribute (methods bound to itself, stream state, limits of its own), and two
such connections share nothing mutable but the server-wide objects they shared before."""

from __future__ import annotations

import asyncio
import collections
import weakref
from pathlib import Path
from types import MethodType
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP

from gateway.config import SmtpAuthUser, SmtpConfig
from gateway.passwords import hash_password
from gateway.smtp.auth import Authenticator
from gateway.smtp.handler import ReceiveHandler
from gateway.smtp.server import GatewaySMTP, _Shared, protocol_options, tls_context
from tests.support.certs import self_signed


async def _accept(envelope: Any, raw: bytes) -> str:
    return "id"


def _same(a: Any, b: Any, conn_a: object, conn_b: object, where: str) -> None:
    """`a` (of conn_a) is to `b` (of conn_b) what the full __init__ makes of it."""
    if isinstance(a, MethodType):
        assert isinstance(b, MethodType) and a.__func__ is b.__func__, where
        if a.__self__ is conn_a:
            assert b.__self__ is conn_b, where
        else:
            assert a.__self__ is b.__self__, where
    elif isinstance(a, tuple):
        assert type(a) is type(b) and len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _same(x, y, conn_a, conn_b, f"{where}[{i}]")
    elif isinstance(a, dict):
        assert type(a) is type(b) and list(a) == list(b), where
        if isinstance(a, collections.defaultdict):
            assert isinstance(b, collections.defaultdict) and a.default_factory is b.default_factory, where
        for key in a:
            _same(a[key], b[key], conn_a, conn_b, f"{where}[{key!r}]")
    elif isinstance(a, asyncio.StreamReader):
        assert type(b) is asyncio.StreamReader and a._limit == b._limit, where  # type: ignore[attr-defined]
        assert a is not b, where
    elif isinstance(a, asyncio.Future):
        assert type(a) is type(b) and a is not b and not a.done() and not b.done(), where
    elif isinstance(a, weakref.ref):
        assert isinstance(b, weakref.ref) and a() is conn_a._strong_reader, where  # type: ignore[attr-defined]
        assert b() is conn_b._strong_reader, where  # type: ignore[attr-defined]
    elif isinstance(a, collections.deque | list | set | bytearray):
        assert type(a) is type(b) and a == b and a is not b, where
    else:
        assert a is b or a == b, where


def _mutable_shared(a: Any, b: Any, where: str, shared_ok: tuple[object, ...]) -> list[str]:
    """Mutable containers two connections would both hold (never, but for the server-wide objects)."""
    if any(a is o for o in shared_ok):
        return []
    if isinstance(a, dict | list | set | bytearray | collections.deque) and a is b:
        return [where]
    if isinstance(a, dict):
        return [p for k in a if k in b for p in _mutable_shared(a[k], b[k], f"{where}[{k!r}]", shared_ok)]
    return []


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return self_signed(tmp_path_factory.mktemp("tls"))


@pytest.mark.parametrize("tls_and_auth", [False, True])
def test_template_connection_equals_the_full_init(tls_and_auth: bool, certificate: tuple[Path, Path]) -> None:
    cert, key = certificate
    if tls_and_auth:
        user = SmtpAuthUser(username="mta", password_hash=hash_password("correct horse", n=2**10))
        config = SmtpConfig(tls_cert=cert, tls_key=key, auth_users=[user], require_tls=True)
    else:
        config = SmtpConfig()

    async def run() -> None:
        tls = tls_context(config)
        authenticator = Authenticator(config.auth_users)
        offered = authenticator.configured and tls is not None
        assert offered is tls_and_auth
        handler = ReceiveHandler(config, _accept, auth_offered=offered)
        shared = _Shared(config)
        loop = asyncio.get_running_loop()
        factory = GatewaySMTP.template(handler, shared, **protocol_options(config, tls, authenticator, offered, loop))
        full = GatewaySMTP(handler, shared, **protocol_options(config, tls, authenticator, offered, loop))
        made, other = factory(), factory()
        assert type(made) is GatewaySMTP
        assert sorted(made.__dict__) == sorted(full.__dict__)
        for key, value in full.__dict__.items():
            _same(value, made.__dict__[key], full, made, key)
            _same(made.__dict__[key], other.__dict__[key], made, other, key)
        server_wide = (handler, shared, authenticator, loop, tls)
        shared_mutables = [
            p for k in made.__dict__ for p in _mutable_shared(made.__dict__[k], other.__dict__[k], k, server_wide)
        ]
        assert shared_mutables == []
        assert {"DATA", "MAIL", "RCPT", "EHLO", "QUIT", "STARTTLS", "AUTH"} <= set(made._smtp_methods)
        assert made._smtp_methods["DATA"].__self__ is made
        builtin = {k for k, v in made._auth_methods.items() if v.is_builtin}
        assert builtin == {k for k, v in full._auth_methods.items() if v.is_builtin}
        if tls_and_auth:
            assert {"LOGIN", "PLAIN"} <= builtin
        for name in builtin:
            assert made._auth_methods[name].method.__self__ is made
        assert made.command_size_limits == {} and made.command_size_limits is not other.command_size_limits
        class_wide = dict(SMTP.command_size_limits)
        made.command_size_limits["MAIL"] += 10  # as EHLO does: one connection's limits only
        assert other.command_size_limits == {} and full.command_size_limits == {}
        assert dict(SMTP.command_size_limits) == class_wide

    asyncio.run(run())
