"""The start-up summary: what this node is about to do, in a few lines, and loud warnings for what
would make it wrong (every recipient external, holds nobody can approve, links that point at the
reader's own PC, a store that is not durable or not private).

It reads only what start-up reads anyway (config, rules, directory, users file) and never writes.
Addresses are masked (DESIGN: no personal data in logs); counts say the rest.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from gateway.config import Config, parse_host_port
from gateway.logsetup import mask_address
from gateway.store.url import parse_store_url, redact_url
from gateway.verdict import Action

log = logging.getLogger("gateway.summary")  # the name people grep the log for


@dataclass
class Summary:
    lines: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def is_loopback(host: str) -> bool:
    if host.lower() in ("localhost", "localhost.localdomain") or host.lower().endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _files(directory: Path) -> str:
    if not directory.is_dir():
        return "does not exist; create it for the site's own rules"
    return f"{len(list(directory.glob('*.yaml')))} file(s) read"


def _store(config: Config, out: Summary) -> None:
    url = config.store.url
    where = parse_store_url(url)
    if where.kind == "sqlite":
        path = Path(where.path)
        out.lines.append(f"store:        {path} (SQLite)")
        for p, kind in ((path.parent, "directory"), (path, "database")):
            try:
                mode = stat.S_IMODE(p.stat().st_mode)
            except OSError:
                continue
            if mode & 0o077:
                out.warnings.append(
                    f"the store {kind} {p} is readable by other local users (mode {mode:o}): held attachments "
                    f"and the hold secret are in it; chmod {'700' if kind == 'directory' else '600'} {p}"
                )
        return
    out.lines.append(f"store:        {redact_url(url)} (Redis)")
    import redis

    from gateway.store.redis import DURABLE_SETTINGS, connect_redis, durability_problems

    client = connect_redis(where.redis_url)
    try:
        wrong = durability_problems(client)
    except redis.RedisError as e:
        out.lines.append(f"              not reachable yet ({type(e).__name__}); start-up keeps trying")
        return
    finally:
        client.close()
    if wrong:
        out.warnings.append(f"Redis persistence is not safe: {wrong}; {DURABLE_SETTINGS}")


def _web(config: Config, users: dict[str, list[str]], out: Summary) -> None:
    web = config.web
    if not web.enabled:
        out.lines.append("web:          off (web.enabled: false): nobody can confirm or approve held mail")
        return
    host, _ = parse_host_port(web.listen)
    out.lines.append(f"web:          listening on {web.listen}, links in notices point at {web.base_url}")
    base_host = urlsplit(web.base_url).hostname or ""
    if is_loopback(base_host) and not is_loopback(host):
        out.warnings.append(
            f"web.base_url {web.base_url} names this machine's loopback while the web listens on {web.listen}: "
            "every link in a notice opens the reader's own PC. Set web.base_url to the name people reach it by"
        )
    if users["all"]:
        out.lines.append(
            f"admin:        {web.base_url.rstrip('/')}/admin ({len(users['admins'])} admin(s) in {web.users_file})"
        )
    else:
        out.lines.append("admin:        no web.users_file: nobody can sign in (run `gateway init`)")


def _users(config: Config) -> dict[str, list[str]]:
    from gateway.web.auth import UserFileError, load_users

    try:
        users = load_users(config.web.users_file)
    except UserFileError:
        users = {}
    admins = [u for u in users.values() if "admin" in u.roles]
    return {
        "all": list(users),
        "admins": [u.username for u in admins],
        "admin_addresses": [u.email for u in admins if u.email],
    }


def _rules(config: Config, users: dict[str, list[str]], out: Summary) -> None:
    from gateway.policy import PolicyError
    from gateway.policy.policy import Policy

    settings = config.policy
    out.lines.append(f"rules:        {settings.rules_path}: {_files(settings.rules_path)}")
    out.lines.append(f"local rules:  {settings.local_path}: {_files(settings.local_path)}")
    try:
        policy = Policy.load(settings)
    except PolicyError as e:
        out.warnings.append(f"the rules are not valid ({len(e.problems)} problem(s)): see `gateway rules check`")
        return
    d = policy.directory
    managers = sum(1 for p in d.people.values() if p.manager or p.deputies)
    groups = sum(1 for g in d.groups.values() if g.approvers)
    fallback = settings.fallback_group
    admins = users["admin_addresses"]
    parts = [f"directory {d.source or 'none'}: {managers} people with a manager, {groups} group(s) with approvers"]
    if fallback:
        parts.append(f"fallback group {fallback}")
    parts.append(f"{len(admins)} admin address(es) for holds nobody else approves")
    out.lines.append("approvers:    " + "; ".join(parts))
    manager_rules = [r.name for r in policy.rules if r.action is Action.HOLD_MANAGER and not r.monitor]
    if not manager_rules:
        return
    if managers == 0 and groups == 0 and d.lookup is None:
        names = ", ".join(manager_rules)
        if admins:
            out.warnings.append(
                f"rules {names} hold mail for a manager's approval, but no directory names an approver: "
                f"the admins are asked instead ({', '.join(mask_address(a) for a in admins)}). "
                "Set policy.directory (and policy.fallback_group)"
            )
        else:
            out.warnings.append(
                f"rules {names} hold mail for a manager's approval, but nobody is configured to approve "
                "(no policy.directory, no policy.fallback_group, no admin with an email in web.users_file): "
                f"such mail waits in the admin queue and is discarded after {config.hold.manager_hours:g} h. "
                "Run `gateway init` or set them"
            )


def build_summary(config: Config, config_file: str | None) -> Summary:
    out = Summary()
    out.lines.append(f"config:       {config_file or '(embedded defaults: gateway init writes a config)'}")
    out.lines.append(f"smtp:         listening on {config.smtp.listen} for {', '.join(config.smtp.allowed_clients)}")
    hop = config.relay.smarthost
    tls = {"none": "no TLS", "starttls": "STARTTLS", "tls": "TLS"}[config.relay.smarthost_tls]
    out.lines.append(f"next hop:     {hop} ({tls})" if hop else "next hop:     the MX of each recipient domain")
    _store(config, out)
    users = _users(config)
    _web(config, users, out)
    _rules(config, users, out)
    domains = config.organization.internal_domains
    out.lines.append(f"internal:     {', '.join(domains) if domains else '(none)'}")
    out.lines.append(f"notices from: {config.postmaster}")
    if not domains:
        out.warnings.append(
            "organization.internal_domains is empty: every recipient counts as external, so a colleague's "
            f"mail with personal data is held, and notices come from {config.postmaster}. "
            "Set it (gateway init --internal-domain example.co.jp)"
        )
    return out


def log_summary(config: Config, config_file: str | None) -> Summary:
    """Log the summary: one INFO line each, then each warning as a WARNING that stands out."""
    summary = build_summary(config, config_file)
    log.info("gateway %s starting (pid %d)", _version(), os.getpid())
    for line in summary.lines:
        log.info("%s", line)
    for warning in summary.warnings:
        log.warning("!!! %s", warning)
    return summary


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("mail-gateway")
    except PackageNotFoundError:
        return "(source)"
