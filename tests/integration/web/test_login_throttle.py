"""Sign-in throttling over HTTP (the real Starlette app on real stores, the real throttle on a clock
the test moves): a locked address or name answers 429 with Retry-After without checking the
password, the lock runs out, and a successful sign-in clears the counters."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from starlette.applications import Starlette

from gateway.hold.store import HoldStore
from gateway.hold.workflow import HoldWorkflow
from gateway.passwords import hash_password
from gateway.store.base import Store
from gateway.web.app import create_app
from gateway.web.throttle import LoginThrottle, login_throttle
from tests.support.holding import hold_config

CSRF = re.compile(r'name="csrf" value="([0-9a-f]+)"')
RIGHT = "pw-admin"


class Clock:
    def __init__(self) -> None:
        self.now = 50_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def web_config(tmp_path: Path) -> Any:
    path = tmp_path / "users.yaml"
    pw = hash_password(RIGHT, n=2**10)
    users = [
        {"username": "admin", "password_hash": pw, "roles": ["admin"]},
        {"username": "hanako", "password_hash": pw, "roles": ["approver"], "email": "hanako@example.co.jp"},
    ]
    path.write_text(yaml.safe_dump({"users": users}))
    return hold_config(
        web={
            "users_file": str(path),
            "login_max_failures": 5,
            "login_window_seconds": 900,
            "login_lockout_seconds": 60,
            "login_lockout_max_seconds": 3600,
        }
    )


@pytest.fixture
def app(store: Store, holds: HoldStore, web_config: Any) -> Starlette:
    return create_app(web_config, store, holds, HoldWorkflow.from_config(store, holds, web_config))


@pytest.fixture
def clock(app: Starlette) -> Clock:
    c = Clock()
    login_throttle(app).clock = c
    return c


@pytest.fixture
def throttle(app: Starlette, clock: Clock) -> LoginThrottle:
    return login_throttle(app)


@pytest.fixture
async def browser(app: Starlette) -> AsyncIterator[Callable[[str], httpx.AsyncClient]]:
    """A browser at a given client address; each gets its own cookies."""
    clients: list[httpx.AsyncClient] = []

    def at(ip: str) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app, client=(ip, 40000))
        c = httpx.AsyncClient(transport=transport, base_url="http://gw.test:8025")
        clients.append(c)
        return c

    yield at
    for c in clients:
        await c.aclose()


async def sign_in(client: httpx.AsyncClient, username: str, password: str) -> httpx.Response:
    page = await client.get("/admin/login")
    match = CSRF.search(page.text)
    assert match, page.text
    return await client.post("/admin/login", data={"csrf": match.group(1), "username": username, "password": password})


def count_password_checks(app: Starlette) -> list[str]:
    """Names whose password the app checked (the real check, observed)."""
    auth = app.state.web.auth
    seen: list[str] = []
    real = auth.check_password

    def observed(username: str, password: str) -> Any:
        seen.append(username)
        return real(username, password)

    auth.check_password = observed
    return seen


async def test_five_failures_lock_the_name_and_the_right_password_gets_429(
    app: Starlette,
    browser: Callable[[str], httpx.AsyncClient],
    clock: Clock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    checked = count_password_checks(app)
    client = browser("192.0.2.10")
    caplog.set_level(logging.INFO, logger="gateway")
    for i in range(5):
        r = await sign_in(client, "admin", f"wrong-{i}")
        assert r.status_code == 401
    r = await sign_in(client, "admin", RIGHT)
    assert r.status_code == 429
    assert r.headers["retry-after"] == "60"
    assert "gw_session" not in r.cookies
    assert "Too many failed sign-ins" in r.text or "サインインの失敗" in r.text
    assert checked == ["admin"] * 5  # the sixth attempt never reached the password check
    en = await client.post("/admin/login?lang=en", data={"csrf": "x"})
    assert en.status_code == 403  # CSRF is still checked first
    # The name is locked from every address, not only this one.
    r = await sign_in(browser("198.51.100.20"), "admin", RIGHT)
    assert r.status_code == 429 and "gw_session" not in r.cookies
    clock.now += 30
    r = await sign_in(client, "admin", RIGHT)
    assert r.status_code == 429 and r.headers["retry-after"] == "30"
    # The log: one warning per locked key, a masked name, the address, never a password.
    warnings = [rec.getMessage() for rec in caplog.records if rec.levelno == logging.WARNING]
    assert any("a***(5)" in w and "192.0.2.10" in w and "ip" in w for w in warnings)
    assert any("a***(5)" in w and "user" in w for w in warnings)
    assert len(warnings) == 2
    text = " ".join(rec.getMessage() for rec in caplog.records)
    assert "admin" not in text and "wrong-" not in text and RIGHT not in text


async def test_a_locked_address_refuses_other_names_too(
    app: Starlette, browser: Callable[[str], httpx.AsyncClient], clock: Clock
) -> None:
    checked = count_password_checks(app)
    client = browser("192.0.2.11")
    for name in ("nobody", "root", "administrator", "test", "guest"):
        assert (await sign_in(client, name, "guess")).status_code == 401
    r = await sign_in(client, "hanako", RIGHT)
    assert r.status_code == 429 and int(r.headers["retry-after"]) == 60
    assert "hanako" not in checked
    # Another address is not locked, and hanako's own counter is clean.
    r = await sign_in(browser("192.0.2.12"), "hanako", RIGHT)
    assert r.status_code == 303 and "gw_session" in r.cookies


async def test_after_the_lock_runs_out_the_right_password_signs_in_and_clears_the_counters(
    browser: Callable[[str], httpx.AsyncClient], clock: Clock, throttle: LoginThrottle
) -> None:
    client = browser("192.0.2.13")
    for i in range(5):
        assert (await sign_in(client, "admin", f"wrong-{i}")).status_code == 401
    assert (await sign_in(client, "admin", RIGHT)).status_code == 429
    clock.now += 61
    r = await sign_in(client, "admin", RIGHT)
    assert r.status_code == 303 and r.headers["location"] == "/admin"
    assert (await client.get("/admin")).status_code == 200
    assert len(throttle) == 0
    # Cleared, not merely run out: four more failures do not lock (a further failure after a lock
    # would lock again at once, for twice as long).
    other = browser("192.0.2.13")
    for i in range(4):
        assert (await sign_in(other, "admin", f"again-{i}")).status_code == 401
    assert (await sign_in(other, "admin", RIGHT)).status_code == 303


async def test_a_further_failure_after_the_lock_doubles_it(
    browser: Callable[[str], httpx.AsyncClient], clock: Clock
) -> None:
    client = browser("192.0.2.14")
    for i in range(5):
        await sign_in(client, "admin", f"wrong-{i}")
    clock.now += 61
    assert (await sign_in(client, "admin", "still-wrong")).status_code == 401
    r = await sign_in(client, "admin", RIGHT)
    assert r.status_code == 429 and r.headers["retry-after"] == "120"


async def test_parallel_attempts_get_no_more_checks_than_the_allowance(
    app: Starlette, browser: Callable[[str], httpx.AsyncClient], clock: Clock
) -> None:
    checked = count_password_checks(app)
    client = browser("192.0.2.15")
    page = await client.get("/admin/login")
    csrf = CSRF.search(page.text).group(1)  # type: ignore[union-attr]
    answers = await asyncio.gather(
        *(client.post("/admin/login", data={"csrf": csrf, "username": "admin", "password": f"p{i}"}) for i in range(20))
    )
    codes = sorted(r.status_code for r in answers)
    assert codes == [401] * 5 + [429] * 15
    assert len(checked) == 5


async def test_api_basic_auth_shares_the_lock_and_never_checks_a_locked_password(
    app: Starlette, browser: Callable[[str], httpx.AsyncClient], clock: Clock
) -> None:
    checked = count_password_checks(app)
    client = browser("192.0.2.60")
    for i in range(5):
        r = await client.get("/api/holds", auth=("admin", f"wrong-{i}"))
        assert r.status_code == 401
    r = await client.get("/api/holds", auth=("admin", RIGHT))
    assert r.status_code == 401  # locked: refused like a wrong password, without checking it
    assert checked == ["admin"] * 5
    page = await sign_in(browser("192.0.2.61"), "admin", RIGHT)  # the name is locked on the form too
    assert page.status_code == 429
    clock.now += 61
    r = await client.get("/api/holds", auth=("admin", RIGHT))
    assert r.status_code == 200
