"""config.yaml as pydantic models. Unknown keys, wrong types and missing values stop start-up with
the file, the line, the key path and a plain message (ConfigError)."""

from __future__ import annotations

import ipaddress
import os
import re
import zoneinfo
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from gateway.config.extract import ExtractLimits
from gateway.config.inspection import InspectionConfig
from gateway.config.policy import PolicySettings
from gateway.config.recipients import RecipientsConfig
from gateway.config.scan import ScanConfig
from gateway.config.yamlfile import FileProblems, Located, LocatedList, explain, load_yaml, read_text


class ConfigError(FileProblems):
    """A configuration problem, already phrased for the admin: 'config.yaml:12: smtp.listen: ...'."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def parse_host_port(value: str) -> tuple[str, int]:
    """'127.0.0.1:10025', '[::1]:25', 'mail.example.com:587' -> (host, port)."""
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"expected HOST:PORT, got {value!r}")
    return host.strip("[]"), int(port)


class SmtpAuthUser(_Strict):
    username: str
    password_hash: str = Field(description="hashlib.scrypt hash as made by `gateway hash-password`")


class SmtpConfig(_Strict):
    listen: str = "127.0.0.1:10025"
    hostname: str = "gateway.localdomain"
    allowed_clients: list[str] = Field(default_factory=lambda: ["127.0.0.0/8", "::1/128"])
    max_message_size: int = Field(default=26_214_400, gt=0)
    max_recipients: int = Field(default=1000, gt=0)
    max_line_length: int = Field(default=65_536, ge=1001)
    max_header_size: int = Field(default=1_048_576, gt=0)
    max_connections: int = Field(default=200, gt=0)
    # At most this many connections from one client address (the MTA's parallel sessions fit well
    # below it; a misbehaving host cannot take every slot). Default: a quarter of max_connections.
    max_connections_per_client: int | None = Field(default=None, gt=0)
    # Slots that only clients in allowed_clients may take. Clients outside it are refused at connect
    # unless AUTH is offered; then, together, they hold at most max_connections - reserved_connections.
    # Default: a quarter of max_connections.
    reserved_connections: int | None = Field(default=None, ge=0)
    max_concurrent_data: int = Field(default=20, gt=0)
    max_received_headers: int = Field(default=50, gt=0)
    timeout: float = Field(default=300.0, gt=0)
    max_data_seconds: float = Field(default=900.0, gt=0)
    processes: int = Field(default=1, ge=1, le=64)
    tls_cert: Path | None = None
    tls_key: Path | None = None
    require_tls: bool = False
    auth_users: list[SmtpAuthUser] = Field(default_factory=list)
    commit_batch_max: int = Field(default=256, gt=0)

    @field_validator("listen")
    @classmethod
    def _listen(cls, v: str) -> str:
        parse_host_port(v)
        return v

    @model_validator(mode="after")
    def _connection_limits(self) -> SmtpConfig:
        if self.max_connections_per_client is not None and self.max_connections_per_client > self.max_connections:
            raise ValueError(
                f"max_connections_per_client ({self.max_connections_per_client}) must not exceed "
                f"max_connections ({self.max_connections})"
            )
        if self.reserved_connections is not None and self.reserved_connections >= self.max_connections:
            raise ValueError(
                f"reserved_connections ({self.reserved_connections}) must be less than "
                f"max_connections ({self.max_connections})"
            )
        return self

    @property
    def connections_per_client(self) -> int:
        if self.max_connections_per_client is not None:
            return self.max_connections_per_client
        return max(1, self.max_connections // 4)

    @property
    def connections_reserved(self) -> int:
        if self.reserved_connections is not None:
            return self.reserved_connections
        return self.max_connections // 4

    @field_validator("allowed_clients")
    @classmethod
    def _networks(cls, v: list[str]) -> list[str]:
        for net in v:
            try:
                ipaddress.ip_network(net, strict=False)
            except ValueError as e:
                raise ValueError(f"not an IP network: {net!r}") from e
        return v


class RetryConfig(_Strict):
    """Like Postfix: minimal_backoff_time 300s doubling to maximal_backoff_time, bounce after lifetime."""

    initial: float = Field(default=300.0, gt=0)
    maximum: float = Field(default=3600.0, gt=0)
    lifetime: float = Field(default=5 * 86400.0, gt=0)


class RelayConfig(_Strict):
    smarthost: str | None = "127.0.0.1:10026"
    smarthost_tls: str = Field(default="none", pattern="^(none|starttls|tls)$")
    smarthost_username: str | None = None
    smarthost_password: str | None = None
    helo_name: str = "gateway.localdomain"
    connect_timeout: float = Field(default=30.0, gt=0)
    command_timeout: float = Field(default=120.0, gt=0)
    concurrency: int = Field(default=20, gt=0)
    processes: int = Field(default=0, ge=0, le=64)
    mx_port: int = Field(default=25, gt=0, le=65535)
    retry: RetryConfig = Field(default_factory=RetryConfig)
    dns_nameservers: list[str] = Field(default_factory=list)
    dns_port: int = 53
    dns_timeout: float = Field(default=5.0, gt=0)
    # The longest one delivery attempt of one message may take (its lease is renewed meanwhile).
    attempt_seconds: float = Field(default=600.0, gt=0)

    @field_validator("smarthost")
    @classmethod
    def _smarthost(cls, v: str | None) -> str | None:
        if v:
            parse_host_port(v)
        return v or None


SYSTEM_STATE_DIR = Path("/var/lib/gateway")


def default_state_dir() -> Path:
    """Where the embedded defaults keep their state: $GATEWAY_STATE_DIR if set; /var/lib/gateway when
    this user may write there (root, or a service user that owns it); else $XDG_STATE_HOME/gateway or
    ~/.local/state/gateway, so that a normal user's first `gateway run` works without a config."""
    if os.environ.get("GATEWAY_STATE_DIR"):
        return Path(os.environ["GATEWAY_STATE_DIR"])
    probe = SYSTEM_STATE_DIR if SYSTEM_STATE_DIR.exists() else SYSTEM_STATE_DIR.parent
    if os.access(probe, os.W_OK | os.X_OK):
        return SYSTEM_STATE_DIR
    xdg = os.environ.get("XDG_STATE_HOME", "")
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".local" / "state"
    return base / "gateway"


def default_store_url() -> str:
    return f"sqlite://{default_state_dir() / 'gateway.db'}"


class StoreConfig(_Strict):
    url: str = Field(
        default_factory=default_store_url,
        description="default: sqlite in /var/lib/gateway when writable, else $XDG_STATE_HOME/gateway",
    )
    # Redis: a message is answered 250 only once this many replicas have it (WAIT); fewer within
    # redis_replica_timeout seconds answers 451 (the MTA sends again). 0: the primary's AOF alone.
    redis_min_replicas: int = Field(default=0, ge=0, le=16)
    redis_replica_timeout: float = Field(default=1.0, gt=0, le=60)

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        if not v.startswith(("sqlite://", "redis://", "rediss://", "redis+sentinel://", "unix://")):
            raise ValueError("expected sqlite:///PATH, redis://HOST:PORT/DB or redis+sentinel://...")
        return v


class OrganizationConfig(_Strict):
    internal_domains: list[str] = Field(default_factory=list)
    postmaster: str = ""  # From: of notices; default postmaster@<first internal domain>


class WebConfig(_Strict):
    listen: str = "127.0.0.1:8025"
    base_url: str = "http://127.0.0.1:8025"
    enabled: bool = True
    users_file: Path | None = None  # admins and approvers who sign in (gateway/web/auth.py)
    approvers_sign_in: bool = False
    session_hours: float = Field(default=8.0, gt=0)
    # Sign-in throttling (gateway/web/throttle.py), per client address and per user name.
    login_max_failures: int = Field(
        default=5, gt=0, description="failed sign-ins within login_window_seconds that lock the address or name"
    )
    login_window_seconds: float = Field(default=900.0, gt=0, description="sliding window that failures count in")
    login_lockout_seconds: float = Field(
        default=60.0, gt=0, description="first lock; each further failure doubles it, up to login_lockout_max_seconds"
    )
    login_lockout_max_seconds: float = Field(default=3600.0, gt=0, description="longest lock")
    metrics_token: str = Field(
        default="", description="if set, /metrics answers only with `Authorization: Bearer <token>`"
    )
    metrics_listen: str = Field(
        default="", description="if set (HOST:PORT), /metrics is served on this listener only, not on `listen`"
    )

    @field_validator("listen")
    @classmethod
    def _listen(cls, v: str) -> str:
        parse_host_port(v)
        return v

    @field_validator("metrics_listen")
    @classmethod
    def _metrics_listen(cls, v: str) -> str:
        if v:
            parse_host_port(v)
        return v


class HoldConfig(_Strict):
    """Held mail (gateway/hold): how long people have to act, reminders, and what expiry does."""

    sender_hours: float = Field(default=24.0, gt=0)
    manager_hours: float = Field(default=72.0, gt=0)
    remind_before_minutes: float = Field(default=120.0, ge=0)
    on_expiry: str = Field(default="discard", pattern="^(discard|release)$")
    release_on_expiry_rules: list[str] = Field(default_factory=list)
    language: str = Field(default="ja", pattern="^(ja|en)$")
    languages: dict[str, str] = Field(default_factory=dict)
    loop_interval: float = Field(default=5.0, gt=0)
    retry_seconds: float = Field(default=30.0, gt=0)
    time_zone: str = Field(default="Asia/Tokyo", description="times on pages and in notices, with the zone shown")
    reject_reason_required: bool = Field(default=True, description="an approver must say why they reject")
    escalate_after_hours: float = Field(
        default=0.0,
        ge=0,
        description="nobody approved or rejected within this: ask the deputies, then the fallback group (0: never)",
    )
    deputies: dict[str, list[str]] = Field(default_factory=dict, description="approver address -> deputies' addresses")
    fallback_approvers: list[str] = Field(default_factory=list, description="asked last, when escalating")
    away: list[str] = Field(
        default_factory=list, description="approvers who are away: their deputies are asked from the start"
    )

    @field_validator("time_zone")
    @classmethod
    def _time_zone(cls, v: str) -> str:
        try:
            zoneinfo.ZoneInfo(v)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {v!r} (an IANA name such as Asia/Tokyo or UTC)") from None
        return v


class WorkerConfig(_Strict):
    # A worker's claim on a message; renewed every third of it while the work goes on (a heartbeat),
    # so another node takes a dead node's messages over within this time of its last heartbeat.
    lease_seconds: float = Field(default=30.0, gt=0)
    # This node's name in lease tokens: a restarted node takes back at once what its dead processes
    # held. Default: the host name. Processes of one machine share it; two nodes must not.
    node_id: str | None = Field(default=None, min_length=1, max_length=200, pattern=r"^[^@/\s]+$")
    pipeline_concurrency: int = Field(default=8, gt=0)
    poll_interval: float = Field(default=0.2, gt=0)
    nice: int = Field(default=5, ge=0, le=19)
    shutdown_seconds: float = Field(
        default=30.0,
        gt=0,
        description="On SIGTERM, how long messages in flight may take to finish; the rest are interrupted "
        "and given back to their queue, due at once (another node, or this one after its restart, takes "
        "them up; at-least-once, like a crash).",
    )
    # A message or hold whose handling raised this many times goes to the shunt queue for a human.
    max_failures: int = Field(default=5, ge=1)
    # The wait before the next try after a failure, doubling with each one (at most an hour).
    failure_retry_seconds: float = Field(default=30.0, gt=0)

    def failure_delay(self, failures: int) -> float:
        """Seconds to wait after the `failures`-th failure."""
        return float(min(self.failure_retry_seconds * 2 ** max(0, min(failures, 30) - 1), 3600.0))


class Config(_Strict):
    smtp: SmtpConfig = Field(default_factory=SmtpConfig)
    relay: RelayConfig = Field(default_factory=RelayConfig)
    store: StoreConfig = Field(default_factory=StoreConfig)
    organization: OrganizationConfig = Field(default_factory=OrganizationConfig)
    web: WebConfig = Field(default_factory=WebConfig)
    hold: HoldConfig = Field(default_factory=HoldConfig)
    worker: WorkerConfig = Field(default_factory=WorkerConfig)
    extract: ExtractLimits = Field(default_factory=ExtractLimits)
    scan: ScanConfig = Field(default_factory=ScanConfig)
    inspection: InspectionConfig = Field(default_factory=InspectionConfig)
    recipients: RecipientsConfig = Field(default_factory=RecipientsConfig)
    policy: PolicySettings = Field(default_factory=PolicySettings)
    log_level: str = Field(default="INFO", pattern="^(DEBUG|INFO|WARNING|ERROR)$")

    @property
    def postmaster(self) -> str:
        if self.organization.postmaster:
            return self.organization.postmaster
        domain = self.organization.internal_domains[0] if self.organization.internal_domains else "localhost"
        return f"postmaster@{domain}"


_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def _expand_env(value: str, where: str) -> str:
    """`${NAME}` and `${NAME:-default}` in a string value take the environment's value (containers
    set web.base_url, store.url ... this way); a variable that is not set and has no default stops."""

    def one(m: re.Match[str]) -> str:
        name, default = m.group(1), m.group(2)
        found = os.environ.get(name)
        if found:
            return found
        if default is not None:
            return default
        raise ConfigError(f"{where}: environment variable {name} is not set (or write ${{{name}:-DEFAULT}})")

    return _ENV.sub(one, value)


def _expand_all(data: Any, filename: str, path: tuple[str, ...] = (), line: int = 1) -> None:
    """Expand environment variables in every string value, in place (the Located lines stay)."""
    if isinstance(data, dict):
        items: list[tuple[Any, Any, int]] = [(k, v, data.line_of(k) if isinstance(data, Located) else line)
                                              for k, v in data.items()]  # fmt: skip
    elif isinstance(data, list):
        items = [(i, v, data.line_of(i) if isinstance(data, LocatedList) else line) for i, v in enumerate(data)]
    else:
        return
    for key, value, at in items:
        where = (*path, str(key))
        if isinstance(value, str) and "${" in value:
            data[key] = _expand_env(value, f"{filename}:{at}: {'.'.join(where)}")
        else:
            _expand_all(value, filename, where, at)


def parse_config(text: str, filename: str = "<config>") -> Config:
    data = load_yaml(text, filename, ConfigError)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{filename}:1: the top level must be a mapping of sections (smtp:, relay:, ...)")
    _expand_all(data, filename)
    try:
        return Config.model_validate(data)
    except ValidationError as e:
        raise ConfigError(explain(e, data, filename)) from None


SYSTEM_LOCAL_RULES = Path("/etc/gateway/rules.d")


def with_local_rules_beside(config: Config, config_file: Path | None) -> Config:
    """The site's rules live next to the config (`<config dir>/rules.d`), or in /etc/gateway/rules.d
    with the embedded defaults, not inside the installation (a `pip install .` puts the shipped rules
    under <venv>/share, where nobody looks). Only when neither policy.local_dir nor policy.rules_dir is
    set: with a rules_dir of its own a site keeps `<rules_dir>/local.d`."""
    p = config.policy
    if p.local_dir is not None or p.rules_dir is not None:
        return config
    where = config_file.resolve().parent / "rules.d" if config_file is not None else SYSTEM_LOCAL_RULES
    return config.model_copy(update={"policy": p.model_copy(update={"local_dir": where})})


def load_config(path: str | Path | None) -> Config:
    """Load a config file; None means the embedded defaults (a single node on sqlite)."""
    if path is None:
        return with_local_rules_beside(Config(), None)
    p = Path(path)
    return with_local_rules_beside(parse_config(read_text(p, ConfigError), str(p)), p)
