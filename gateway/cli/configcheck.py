"""`gateway check-config`: everything start-up loads, checked without starting anything, so that OK
means the node starts: the users file, the rules and the directory, the TLS certificate, the
templates, the scanner's model path and the store's place. It never writes (the store is only
looked at; see gateway/cli/dryrun.py for the dry runs that read it)."""

from __future__ import annotations

import os
import ssl
from dataclasses import dataclass, field
from pathlib import Path

import jinja2

from gateway.config import Config
from gateway.store import ping_store
from gateway.store.base import StoreError
from gateway.store.url import parse_store_url, redact_url


@dataclass
class ConfigReport:
    problems: list[str] = field(default_factory=list)  # start-up would stop
    notes: list[str] = field(default_factory=list)  # fine, but worth saying


def _users(config: Config, out: ConfigReport) -> None:
    from gateway.web.auth import UserFileError, load_users

    if config.web.users_file is None:
        return
    try:
        users = load_users(config.web.users_file)
    except UserFileError as e:
        out.problems.append(f"web.users_file: {e}")
        return
    if not any("admin" in u.roles for u in users.values()):
        out.notes.append(f"web.users_file {config.web.users_file}: no user has the role admin")


def _policy(config: Config, out: ConfigReport) -> None:
    from gateway.policy import PolicyError
    from gateway.policy.policy import Policy

    try:
        Policy.load(config.policy)
    except PolicyError as e:
        out.problems += [f"rules: {p}" for p in e.problems]


def _tls(config: Config, out: ConfigReport) -> None:
    smtp = config.smtp
    if bool(smtp.tls_cert) != bool(smtp.tls_key):
        out.problems.append("smtp.tls_cert and smtp.tls_key: give both or neither")
        return
    if smtp.require_tls and not smtp.tls_cert:
        out.problems.append("smtp.require_tls: needs smtp.tls_cert and smtp.tls_key")
    if not smtp.tls_cert or not smtp.tls_key:
        return
    from gateway.smtp.server import tls_context

    try:
        tls_context(smtp)
    except (OSError, ssl.SSLError) as e:
        out.problems.append(f"smtp.tls_cert / smtp.tls_key ({smtp.tls_cert}, {smtp.tls_key}): {e}")


def _templates(out: ConfigReport) -> None:
    """Every template compiled in the environment that renders it (its filters and settings)."""
    from gateway.hold.notify import TEMPLATES, mail_environment
    from gateway.web.app import page_environment

    for kind, env in (("mail", mail_environment(TEMPLATES)), ("web", page_environment(TEMPLATES))):
        directory = TEMPLATES / kind
        if not directory.is_dir():
            out.problems.append(f"templates: {directory} does not exist (a broken installation)")
            continue
        for name in sorted(env.list_templates()):
            if name.endswith(".css"):
                continue
            try:
                env.get_template(name)
            except jinja2.TemplateError as e:
                out.problems.append(f"templates: {directory / name}: {e}")


def _store(config: Config, out: ConfigReport) -> None:
    url = config.store.url
    where = parse_store_url(url)
    if where.kind == "redis":
        try:
            ping_store(url)
        except StoreError as e:
            out.notes.append(f"store {redact_url(url)} does not answer now ({e}); start-up waits for it")
        return
    path = Path(where.path)
    if path.exists():
        if not os.access(path, os.R_OK | os.W_OK):
            out.problems.append(f"store.url: {path}: this user ({_user()}) cannot read and write it")
        return
    probe = path.parent
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir() or not os.access(probe, os.W_OK | os.X_OK):
        out.problems.append(
            f"store.url: {path} does not exist and this user ({_user()}) cannot create it in {probe}: "
            "set store.url to a place it can write"
        )
    else:
        out.notes.append(f"store {path} does not exist yet: start-up creates it (private to this user)")


def _user() -> str:
    import pwd

    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        return str(os.getuid())


def _models(config: Config, out: ConfigReport) -> None:
    path = config.scan.en_model_path
    if path is not None and not path.is_dir():
        out.problems.append(f"scan.en_model_path: {path} is not a directory")


def check_config(config: Config) -> ConfigReport:
    out = ConfigReport()
    _users(config, out)
    _policy(config, out)
    _tls(config, out)
    _templates(out)
    _models(config, out)
    _store(config, out)
    return out
