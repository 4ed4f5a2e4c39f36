"""config.yaml loading: the example documents every key; errors name file, line and key path."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel

from gateway.cli import main
from gateway.config import Config, ConfigError, load_config, parse_config

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "config.example.yaml"


def _key_paths(model: type[BaseModel], prefix: str = "") -> list[str]:
    paths = []
    for name, field in model.model_fields.items():
        paths.append(prefix + name)
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            paths.extend(_key_paths(annotation, prefix + name + "."))
    return paths


def test_example_loads_and_matches_defaults_where_documented() -> None:
    config = load_config(EXAMPLE)
    assert config.smtp.listen == "127.0.0.1:10025"
    assert config.smtp.allowed_clients == ["127.0.0.0/8", "::1/128"]
    assert config.smtp.max_message_size == 26_214_400
    assert config.smtp.max_recipients == 1000
    assert config.relay.smarthost == "127.0.0.1:10026"
    assert config.store.url == "sqlite:///var/lib/gateway/gateway.db"
    assert config.organization.internal_domains == ["example.co.jp"]
    assert config.web.listen == "127.0.0.1:8025"
    assert config.web.base_url == "http://127.0.0.1:8025"


def test_example_documents_every_key() -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    missing = [p for p in _key_paths(Config) if f"{p.rsplit('.', 1)[-1]}:" not in text]
    assert missing == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("smtp:\n  listen: 127.0.0.1:25\n  colour: blue\n", "cfg.yaml:3: smtp.colour: unknown key"),
        (
            "smtp:\n  max_recipients: many\n",
            "cfg.yaml:2: smtp.max_recipients: Input should be a valid integer",
        ),
        (
            "relay:\n  retry:\n    initial: -1\n",
            "cfg.yaml:3: relay.retry.initial: Input should be greater than 0",
        ),
        ("smtp:\n  listen: nowhere\n", "cfg.yaml:2: smtp.listen: Value error, expected HOST:PORT"),
        (
            "smtp:\n  allowed_clients: [10.0.0.300/8]\n",
            "cfg.yaml:2: smtp.allowed_clients: Value error, not an IP",
        ),
        ("store:\n  url: mysql://x\n", "cfg.yaml:2: store.url: Value error, expected sqlite"),
        (
            "smtp:\n  max_connections: 10\n  max_connections_per_client: 11\n",
            "cfg.yaml:1: smtp: Value error, max_connections_per_client (11) must not exceed max_connections (10)",
        ),
        (
            "smtp:\n  max_connections: 10\n  reserved_connections: 10\n",
            "cfg.yaml:1: smtp: Value error, reserved_connections (10) must be less than max_connections (10)",
        ),
        ("smtp:\n  max_connections_per_client: 0\n", "smtp.max_connections_per_client: Input should be greater"),
        ("smtp: {listen: '1.2.3.4:25'\n", "cfg.yaml:2: not valid YAML"),
        ("- a\n- b\n", "cfg.yaml:1: the top level must be a mapping"),
        ("smtp:\n  timeout: 1\n  timeout: 2\n", "cfg.yaml:3: smtp.timeout: duplicate key"),
        (
            "smtp:\n  auth_users:\n    - username: a\n",
            "cfg.yaml:3: smtp.auth_users.0.password_hash: required value",
        ),
    ],
)
def test_errors_name_file_line_and_key(text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as excinfo:
        parse_config(text, "cfg.yaml")
    assert expected in str(excinfo.value)


def test_empty_file_gives_defaults() -> None:
    assert parse_config("", "empty.yaml") == Config()


def test_check_config_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "good.yaml"
    good.write_text("smtp:\n  listen: 127.0.0.1:2525\n")
    bad = tmp_path / "bad.yaml"
    bad.write_text("smtp:\n  listen: 127.0.0.1:2525\n  bogus: true\n")
    assert main(["check-config", "--config", str(good)]) == 0
    assert main(["check-config", "--config", str(bad)]) == 1
    err = capsys.readouterr().err
    assert f"{bad}:3: smtp.bogus: unknown key" in err
    assert main(["check-config", "--config", str(tmp_path / "absent.yaml")]) == 1
    assert "cannot read" in capsys.readouterr().err


def test_shipped_deploy_configs_validate(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEWAY_BASE_URL", "https://gateway.example.co.jp")  # compose.yaml's environment
    for path in (ROOT / "deploy").glob("*.yaml"):
        load_config(path)
