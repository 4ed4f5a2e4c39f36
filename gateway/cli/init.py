"""`gateway init`: a first configuration that is right for the site, from a few questions or flags.

Writes, into one directory (default /etc/gateway when this user may write there, else
$XDG_CONFIG_HOME/gateway or ~/.config/gateway):

    config.yaml      internal domains, next hop, web address, store, users file, directory
    users.yaml       one admin (password asked twice, or generated and shown once), role admin
    directory.yaml   a skeleton: who approves for whom; a fallback group of the admin when the admin
                     has an address, so that a hold for a manager always has someone to ask
    rules.d/         the site's own rules (read after the shipped ones; an example to copy)

Everything is validated before anything is written (the config, the users file, the directory), and
nothing existing is overwritten without --force. Files are private to the user who runs it (umask 077).
"""

from __future__ import annotations

import argparse
import getpass
import os
import secrets
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from gateway.config import ConfigError, parse_config, parse_host_port
from gateway.config.model import default_store_url
from gateway.mail.addresses import AddressError, parse_address

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2

RULES_EXAMPLE = """\
# The site's own rules: every *.yaml here is read after the shipped rules (see docs/policy.md).
# A rule of the same name as a shipped one changes it; a new name adds a rule. Rename this file to
# something.yaml to use it, then check with `gateway rules check --config {config}`.
rules:
  - name: bulk_pii_external
    params: {{min_records: 20}}     # hold for a manager from 20 records instead of 10
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dir", type=Path, metavar="DIR", help="where to write (/etc/gateway or ~/.config/gateway)")
    p.add_argument(
        "--internal-domain",
        action="append",
        default=[],
        metavar="DOMAIN",
        help="a domain of the organisation (repeatable); mail to it counts as internal",
    )
    p.add_argument("--next-hop", metavar="HOST:PORT|mx", help="where mail goes after the gateway; mx: by DNS")
    p.add_argument("--base-url", metavar="URL", help="the address people open the gateway's pages at")
    p.add_argument("--admin", metavar="NAME", help="user name of the first admin (default: admin)")
    p.add_argument("--admin-email", metavar="ADDRESS", help="the admin's address (notices, approvals)")
    p.add_argument("--password-stdin", action="store_true", help="read the admin's password from stdin")
    p.add_argument("--store-url", metavar="URL", help="store.url (default: SQLite in this user's state directory)")
    p.add_argument("--force", action="store_true", help="overwrite files that exist")


def default_dir() -> Path:
    etc = Path("/etc/gateway")
    probe = etc if etc.exists() else etc.parent
    if os.access(probe, os.W_OK | os.X_OK):
        return etc
    xdg = os.environ.get("XDG_CONFIG_HOME", "")
    return (Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".config") / "gateway"


@dataclass
class Answers:
    directory: Path
    domains: list[str]
    next_hop: str | None  # None: by MX
    base_url: str
    admin: str
    admin_email: str
    store_url: str


class InitError(Exception):
    pass


def _domain(value: str) -> str:
    value = value.strip().lower().rstrip(".")
    try:
        parse_address(f"postmaster@{value}")
    except AddressError as e:
        raise InitError(f"not a domain: {value!r} ({e})") from None
    if "." not in value:
        raise InitError(f"not a domain: {value!r} (expected e.g. example.co.jp)")
    return value


def _next_hop(value: str) -> str | None:
    value = value.strip()
    if value.lower() in ("mx", "dns", "none"):
        return None
    try:
        parse_host_port(value)
    except ValueError as e:
        raise InitError(f"next hop: {e} (or mx)") from None
    return value


def _base_url(value: str) -> str:
    value = value.strip().rstrip("/")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InitError(f"base URL: expected http(s)://HOST[:PORT], got {value!r}")
    return value


def _email(value: str) -> str:
    if not value.strip():
        return ""
    try:
        return parse_address(value.strip()).normalised
    except AddressError as e:
        raise InitError(f"admin address: {e}") from None


def gather(
    args: argparse.Namespace, ask: Callable[[str], str] | None
) -> Answers:  # ask: None when nobody can be asked (not a terminal)
    def value(flag: object, question: str, default: str, check: Callable[[str], object]) -> str:
        if flag is not None:
            check(str(flag))
            return str(flag)
        if ask is None:
            return default
        while True:
            answer = ask(f"{question} [{default}]: ").strip() or default
            try:
                check(answer)
                return answer
            except InitError as e:
                print(f"  {e}", file=sys.stderr)

    domains = [_domain(d) for d in args.internal_domain]
    if not domains:
        if ask is None:
            raise InitError("give --internal-domain (the organisation's own mail domain; repeatable)")
        text = value(None, "The organisation's mail domains (comma-separated)", "", lambda v: None)
        domains = [_domain(d) for d in text.split(",") if d.strip()]
        if not domains:
            raise InitError("at least one internal domain is needed")
    hop = value(args.next_hop, "Next hop after the gateway (HOST:PORT, or mx)", "127.0.0.1:10026", _next_hop)
    base = value(args.base_url, "Address of the gateway's pages (links in notices)", "http://127.0.0.1:8025", _base_url)
    admin = value(args.admin, "Admin user name", "admin", lambda v: None) or "admin"
    email = value(args.admin_email, "Admin's mail address (asked to approve when nobody else is)", "", _email)
    return Answers(
        directory=args.dir or default_dir(),
        domains=domains,
        next_hop=_next_hop(hop),
        base_url=_base_url(base),
        admin=admin,
        admin_email=_email(email),
        store_url=args.store_url or default_store_url(),
    )


def _web_listen(base_url: str) -> str:
    """Loopback when the pages are opened on this machine; all interfaces when people reach it by name."""
    from gateway.cli.summary import is_loopback

    parts = urlsplit(base_url)
    port = parts.port or 8025
    return f"127.0.0.1:{port}" if is_loopback(parts.hostname or "") else f"0.0.0.0:{port}"


def render(a: Answers, password_hash: str) -> dict[str, str]:
    d = a.directory
    fallback = "gateway-admins" if a.admin_email else ""
    config = {
        "organization": {"internal_domains": a.domains},
        "relay": {"smarthost": a.next_hop},
        "store": {"url": a.store_url},
        "web": {"listen": _web_listen(a.base_url), "base_url": a.base_url, "users_file": str(d / "users.yaml")},
        "policy": {"directory": str(d / "directory.yaml"), "local_dir": str(d / "rules.d"), "fallback_group": fallback},
    }
    user: dict[str, object] = {"username": a.admin, "password_hash": password_hash, "roles": ["admin"]}
    if a.admin_email:
        user["email"] = a.admin_email
    directory: dict[str, object] = {"people": [], "groups": {}}
    if fallback:
        directory["groups"] = {fallback: {"approvers": [a.admin_email]}}

    def dump(data: object) -> str:
        return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, default_flow_style=False)

    return {
        "config.yaml": "# Written by `gateway init`; every key is in config.example.yaml.\n"
        f"# Check it with: gateway check-config --config {d / 'config.yaml'}\n" + dump(config),
        "users.yaml": "# Who signs in to the admin pages. Add users with a hash from `gateway hash-password`.\n"
        + dump({"users": [user]}),
        "directory.yaml": "# Who approves for whom (docs/policy.md). For each sender: manager and deputies;\n"
        "# people:\n"
        "#   - {address: taro.yamada@" + a.domains[0] + ", manager: hanako.sato@" + a.domains[0] + "}\n"
        "# A sender nobody approves for goes to policy.fallback_group, else to the admins of users.yaml.\n"
        + dump(directory),
        "rules.d/example.yaml.sample": RULES_EXAMPLE.format(config=d / "config.yaml"),
    }


def validate(files: dict[str, str], directory: Path) -> None:
    from gateway.policy.directory import parse_yaml_directory
    from gateway.policy.errors import PolicyError
    from gateway.web.auth import UserFile

    try:
        parse_config(files["config.yaml"], str(directory / "config.yaml"))
        UserFile.model_validate(yaml.safe_load(files["users.yaml"]))
        parse_yaml_directory(files["directory.yaml"], str(directory / "directory.yaml"))
    except ConfigError as e:
        raise InitError(str(e)) from None
    except PolicyError as e:
        raise InitError("; ".join(e.problems)) from None
    except ValueError as e:  # pydantic's ValidationError
        raise InitError(str(e)) from None


def password(args: argparse.Namespace, tty: bool) -> tuple[str, bool]:
    """(password, generated)."""
    if args.password_stdin:
        pw = sys.stdin.readline().rstrip("\n")
        if not pw:
            raise InitError("--password-stdin: no password on stdin")
        return pw, False
    if tty:
        while True:
            pw = getpass.getpass("Admin password (empty: generate one): ")
            if not pw:
                break
            if len(pw) < 10:
                print("  at least 10 characters, please", file=sys.stderr)
                continue
            if getpass.getpass("Again: ") == pw:
                return pw, False
            print("  the two did not match", file=sys.stderr)
    return secrets.token_urlsafe(15), True


def run_init(args: argparse.Namespace, ask: Callable[[str], str] | None = None, tty: bool | None = None) -> int:
    previous = os.umask(0o077)  # what init writes is private; the caller's umask comes back after
    try:
        return _run_init(args, ask, tty)
    finally:
        os.umask(previous)


def _run_init(args: argparse.Namespace, ask: Callable[[str], str] | None, tty: bool | None) -> int:
    from gateway.passwords import hash_password

    tty = sys.stdin.isatty() and not args.password_stdin if tty is None else tty
    if ask is None and tty:
        ask = input
    try:
        answers = gather(args, ask)
        target = answers.directory
        existing = [name for name in ("config.yaml", "users.yaml", "directory.yaml") if (target / name).exists()]
        if existing and not args.force:
            raise InitError(f"{target}: {', '.join(existing)} exist already (--force overwrites)")
        pw, generated = password(args, tty)
        files = render(answers, hash_password(pw))
        validate(files, target)
    except InitError as e:
        print(f"gateway init: {e}", file=sys.stderr)
        return EXIT_USAGE
    try:
        (target / "rules.d").mkdir(parents=True, exist_ok=True)
        for name, text in files.items():
            path = target / name
            tmp = path.with_name(path.name + ".tmp")
            tmp.write_text(text, encoding="utf-8")
            tmp.replace(path)
    except OSError as e:
        print(f"gateway init: cannot write {target}: {e.strerror}", file=sys.stderr)
        return EXIT_ERROR
    config_file = target / "config.yaml"
    print(f"wrote {config_file}, {target / 'users.yaml'}, {target / 'directory.yaml'}, {target / 'rules.d'}/")
    if generated:
        print(f"admin user {answers.admin!r}, password (shown once, keep it): {pw}")
    from gateway.cli.configcheck import check_config
    from gateway.config import load_config

    report = check_config(load_config(config_file))
    for problem in report.problems:
        print(f"problem: {problem}", file=sys.stderr)
    print(f"next: gateway run --config {config_file}")
    print(f"      then sign in at {answers.base_url}/admin as {answers.admin}")
    return EXIT_ERROR if report.problems else EXIT_OK
