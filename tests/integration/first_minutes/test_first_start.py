"""The first start: state in a place this user can write, the start-up summary and its warnings,
local rules beside the config, `gateway init`, and a Redis that comes up after the gateway."""

from __future__ import annotations

import argparse
import asyncio
import io
import logging
import shutil
import smtplib
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

import gateway.config.model as config_module
from gateway.cli.init import run_init
from gateway.cli.main import build_parser, main
from gateway.cli.summary import build_summary
from gateway.config import Config, ConfigError, load_config
from gateway.config.model import default_state_dir
from gateway.passwords import verify_password
from gateway.service import serve, wait_for_store
from tests.support.needs import require
from tests.support.net import free_port, wait_for_port
from tests.support.redis_keys import delete_redis_prefix

REDIS_SERVER = shutil.which("redis-server") or (
    "/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else None
)


@pytest.fixture
def needs_redis_server() -> None:
    require(None if REDIS_SERVER else "needs redis-server (apt-get install redis-server)")


# -- where state goes -------------------------------------------------------------------------------


def test_state_goes_to_var_lib_when_writable_else_to_the_users_state_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GATEWAY_STATE_DIR")
    system = tmp_path / "var" / "lib" / "gateway"
    system.parent.mkdir(parents=True)
    monkeypatch.setattr(config_module, "SYSTEM_STATE_DIR", system)
    assert default_state_dir() == system
    assert Config().store.url == f"sqlite://{system / 'gateway.db'}"
    system.parent.chmod(0o555)
    real_access = config_module.os.access
    monkeypatch.setattr(
        config_module.os, "access", lambda p, m: False if Path(p) == system.parent else real_access(p, m)
    )
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg"))
    assert default_state_dir() == tmp_path / "xdg" / "gateway"
    monkeypatch.delenv("XDG_STATE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_state_dir() == tmp_path / "home" / ".local" / "state" / "gateway"
    monkeypatch.setenv("GATEWAY_STATE_DIR", str(tmp_path / "explicit"))
    assert default_state_dir() == tmp_path / "explicit"
    system.parent.chmod(0o755)


# -- the summary ------------------------------------------------------------------------------------


def test_the_defaults_warn_about_what_makes_them_wrong() -> None:
    summary = build_summary(load_config(None), None)
    text = "\n".join(summary.lines)
    for expected in ("smtp:         listening on 127.0.0.1:10025", "next hop:     127.0.0.1:10026", "store:", "web:"):
        assert expected in text
    assert "local rules:  /etc/gateway/rules.d" in text
    warnings = "\n".join(summary.warnings)
    assert "internal_domains is empty" in warnings
    assert "nobody is configured to approve" in warnings and "bulk_pii_external" in warnings


def test_base_url_on_localhost_while_listening_elsewhere_is_a_warning() -> None:
    config = Config.model_validate(
        {
            "web": {"listen": "0.0.0.0:8025", "base_url": "http://localhost:8025"},
            "organization": {"internal_domains": ["example.co.jp"]},
        }
    )
    warnings = "\n".join(build_summary(config, None).warnings)
    assert "web.base_url http://localhost:8025 names this machine's loopback" in warnings
    assert "internal_domains" not in warnings
    fine = Config.model_validate({"web": {"listen": "0.0.0.0:8025", "base_url": "https://gw.example.co.jp"}})
    assert "web.base_url" not in "\n".join(build_summary(fine, None).warnings)


def test_an_open_store_directory_is_a_warning(tmp_path: Path) -> None:
    (tmp_path / "gateway.db").write_bytes(b"")
    tmp_path.chmod(0o755)
    config = Config.model_validate({"store": {"url": f"sqlite://{tmp_path / 'gateway.db'}"}})
    warnings = "\n".join(build_summary(config, None).warnings)
    assert f"the store directory {tmp_path} is readable by other local users (mode 755)" in warnings


@pytest.fixture
def throwaway_redis(tmp_path: Path) -> Iterator[tuple[int, subprocess.Popen[bytes] | None]]:
    """A port for a redis-server of this test's own (started by the test, not persistent)."""
    port = free_port()
    holder: dict[str, subprocess.Popen[bytes]] = {}

    def start() -> subprocess.Popen[bytes]:
        assert REDIS_SERVER is not None
        proc = subprocess.Popen(
            [REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(tmp_path)],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        holder["proc"] = proc
        return proc

    yield port, start  # type: ignore[misc]
    proc = holder.get("proc")
    if proc is not None:
        proc.terminate()
        proc.wait(10)


@pytest.mark.usefixtures("needs_redis_server")
def test_redis_without_safe_persistence_is_a_warning(throwaway_redis: tuple[int, object]) -> None:
    port, start = throwaway_redis
    start()  # type: ignore[operator]
    wait_for_port(port)
    config = Config.model_validate({"store": {"url": f"redis://:secret@127.0.0.1:{port}/0"}})
    summary = build_summary(config, None)
    assert any(
        "Redis persistence is not safe: appendfsync is everysec, appendonly is no" in w for w in summary.warnings
    )
    assert "secret" not in "\n".join(summary.lines + summary.warnings)


@pytest.mark.usefixtures("needs_redis_server")
async def test_a_redis_that_comes_up_later_is_waited_for(
    throwaway_redis: tuple[int, object], caplog: pytest.LogCaptureFixture
) -> None:
    """`serve` on a Redis store that does not answer yet retries with back-off, logs it, and takes
    mail once Redis is up: services come and go, the order they start in is not an error."""
    port, start = throwaway_redis
    smtp_port = free_port()
    config = Config.model_validate(
        {
            "store": {"url": f"redis://127.0.0.1:{port}/0?prefix=gwtest-wait"},
            "smtp": {"listen": f"127.0.0.1:{smtp_port}"},
            "web": {"enabled": False},
        }
    )
    stop = asyncio.Event()
    assert not await asyncio.wait_for(_stopped_soon(config.store.url, stop), 10)
    with caplog.at_level(logging.INFO, logger="gateway.service"):
        task = asyncio.create_task(serve(config, ("smtp",)))
        await asyncio.sleep(1.5)
        assert not task.done()
        assert "not reachable" in caplog.text and "trying again in 1 s" in caplog.text
        start()  # type: ignore[operator]
        await asyncio.to_thread(wait_for_port, smtp_port, 20.0)
        assert "answers now" in caplog.text

        def send() -> None:
            with smtplib.SMTP("127.0.0.1", smtp_port, timeout=10) as c:
                c.sendmail("a@example.co.jp", ["b@example.com"], b"Subject: x\r\n\r\nhello\r\n")

        await asyncio.to_thread(send)
        import signal

        signal.raise_signal(signal.SIGTERM)  # serve's own shutdown path
        await asyncio.wait_for(task, 20)
    delete_redis_prefix(f"redis://127.0.0.1:{port}/0", "gwtest-wait")


async def _stopped_soon(url: str, stop: asyncio.Event) -> bool:
    asyncio.get_running_loop().call_later(0.3, stop.set)
    return await wait_for_store("redis://127.0.0.1:1/0", stop, first=0.1)


# -- local rules beside the config ------------------------------------------------------------------


def test_local_rules_beside_the_config_take_effect_and_are_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "rules.d").mkdir()
    (tmp_path / "rules.d" / "site.yaml").write_text(
        "rules:\n  - name: lookalike_domain\n    enabled: false\n", encoding="utf-8"
    )
    config_file = tmp_path / "config.yaml"
    config_file.write_text("organization: {internal_domains: [example.co.jp]}\n", encoding="utf-8")
    assert load_config(config_file).policy.local_path == tmp_path / "rules.d"
    assert main(["rules", "check", "-c", str(config_file)]) == 0
    out = capsys.readouterr().out
    assert f"local rules: {tmp_path / 'rules.d'}: 1 file(s) read" in out and "disabled: lookalike_domain" in out
    summary = build_summary(load_config(config_file), str(config_file))
    assert f"local rules:  {tmp_path / 'rules.d'}: 1 file(s) read" in summary.lines
    # A site that sets its own rules_dir keeps <rules_dir>/local.d.
    config_file.write_text(f"policy: {{rules_dir: {tmp_path / 'mine'}}}\n", encoding="utf-8")
    assert load_config(config_file).policy.local_path == tmp_path / "mine" / "local.d"


# -- gateway init -----------------------------------------------------------------------------------


def init_args(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(["init", *argv])


def test_init_from_flags_writes_a_valid_config_and_shows_a_generated_password_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "etc"
    argv = ["--dir", str(target), "--internal-domain", "example.co.jp", "--internal-domain", "example.jp",
            "--next-hop", "mx", "--base-url", "https://gw.example.co.jp/", "--admin-email", "it@example.co.jp",
            "--store-url", f"sqlite://{tmp_path / 'state' / 'gateway.db'}"]  # fmt: skip
    assert run_init(init_args(*argv), tty=False) == 0
    out = capsys.readouterr().out
    password = out.split("password (shown once, keep it): ")[1].split()[0]
    users = yaml.safe_load((target / "users.yaml").read_text())["users"]
    assert users[0]["username"] == "admin" and users[0]["roles"] == ["admin"]
    assert verify_password(password, users[0]["password_hash"])
    assert password not in (target / "users.yaml").read_text()
    for name in ("config.yaml", "users.yaml", "directory.yaml"):
        assert (target / name).stat().st_mode & 0o077 == 0
    config = load_config(target / "config.yaml")
    assert config.organization.internal_domains == ["example.co.jp", "example.jp"]
    assert config.relay.smarthost is None and config.web.base_url == "https://gw.example.co.jp"
    assert config.web.listen == "0.0.0.0:8025"
    assert config.policy.local_path == target / "rules.d" and (target / "rules.d").is_dir()
    assert main(["check-config", "-c", str(target / "config.yaml")]) == 0
    summary = build_summary(config, str(target / "config.yaml"))
    assert summary.warnings == []  # internal domains set, the fallback group approves
    # Run again: nothing is overwritten without --force.
    assert run_init(init_args(*argv), tty=False) == 2
    assert "exist already" in capsys.readouterr().err


def test_init_asks_what_the_flags_do_not_say(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    answers = iter(["example.co.jp, Example.JP.", "smtp.example.co.jp:25", "not a url", "http://gw.example.co.jp:8025",
                    "root-admin", ""])  # fmt: skip
    monkeypatch.setattr("sys.stdin", io.StringIO("a-long-password-1\n"))
    args = init_args("--dir", str(tmp_path), "--password-stdin")
    assert run_init(args, ask=lambda question: next(answers), tty=False) == 0
    assert "base URL: expected http(s)://HOST[:PORT]" in capsys.readouterr().err  # asked again
    config = load_config(tmp_path / "config.yaml")
    assert config.organization.internal_domains == ["example.co.jp", "example.jp"]
    assert config.relay.smarthost == "smtp.example.co.jp:25"
    assert config.policy.fallback_group == ""  # the admin has no address: the admins' queue takes such holds
    users = yaml.safe_load((tmp_path / "users.yaml").read_text())["users"]
    assert users[0]["username"] == "root-admin" and verify_password("a-long-password-1", users[0]["password_hash"])


def test_init_without_a_domain_and_nobody_to_ask_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_init(init_args("--dir", str(tmp_path / "x")), tty=False) == 2
    assert "give --internal-domain" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()
    assert run_init(init_args("--dir", str(tmp_path / "y"), "--internal-domain", "nodot"), tty=False) == 2
    assert not (tmp_path / "y").exists()


# -- containers -------------------------------------------------------------------------------------

ROOT = Path(__file__).parents[3]


def test_compose_restarts_services_and_takes_the_base_url_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    assert {name: s.get("restart") for name, s in compose["services"].items()} == {
        "redis": "unless-stopped",
        "gateway": "unless-stopped",
    }
    assert "GATEWAY_BASE_URL" in compose["services"]["gateway"]["environment"]["GATEWAY_BASE_URL"]
    monkeypatch.delenv("GATEWAY_BASE_URL", raising=False)
    with pytest.raises(
        ConfigError, match=r"config.compose.yaml:\d+: web.base_url: environment variable GATEWAY_BASE_URL"
    ):
        load_config(ROOT / "deploy" / "config.compose.yaml")
    monkeypatch.setenv("GATEWAY_BASE_URL", "https://gateway.example.co.jp")
    config = load_config(ROOT / "deploy" / "config.compose.yaml")
    assert config.web.base_url == "https://gateway.example.co.jp"
    assert config.web.listen == "0.0.0.0:8025"  # and links point at a name, not at the reader's PC
    assert not config.web.base_url.startswith(("http://localhost", "http://127."))


def test_environment_defaults_in_config_values(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "c.yaml"
    path.write_text('web: {base_url: "${GW_TEST_URL:-http://127.0.0.1:8025}"}\nlog_level: "${GW_TEST_LEVEL:-INFO}"\n')
    monkeypatch.delenv("GW_TEST_URL", raising=False)
    assert load_config(path).web.base_url == "http://127.0.0.1:8025"
    monkeypatch.setenv("GW_TEST_URL", "https://gw.example.co.jp")
    monkeypatch.setenv("GW_TEST_LEVEL", "DEBUG")
    config = load_config(path)
    assert config.web.base_url == "https://gw.example.co.jp" and config.log_level == "DEBUG"
