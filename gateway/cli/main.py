"""The `gateway` command line."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from gateway.cli.envelope import envelope_from_headers
from gateway.cli.output import verdict_lines
from gateway.config import Config, ConfigError, load_config

# The commands that inspect or run (check, rules, run ...) import their parts when they run, so that
# `gateway check-config` and `gateway hash-password` answer at once without loading the models' stack.

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2


def _add_config(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config", "-c", metavar="FILE", help="config.yaml (default: the embedded defaults, a single node)"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gateway", description="Outbound mail gateway")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    for name, text in (
        ("run", "run receive, pipeline and delivery in one node"),
        ("smtp", "run only the SMTP receive part"),
        ("worker", "run only the pipeline worker"),
        ("deliver", "run only the delivery worker"),
        ("web", "run only the web pages (confirm, approve, admin, API, metrics) and the hold loop"),
    ):
        _add_config(sub.add_parser(name, help=text, description=text))

    p = sub.add_parser("check-config", help="validate a config file and exit")
    _add_config(p)

    p = sub.add_parser("check", help="run the pipeline on a message file without sending anything")
    _add_config(p)
    p.add_argument("--json", action="store_true", help="print the decision as JSON")
    p.add_argument("--mail-from", metavar="ADDRESS", help="envelope sender (default: the From header)")
    p.add_argument("--rcpt", metavar="ADDRESS", action="append", default=[], help="envelope recipient (repeatable)")
    p.add_argument("message", metavar="MESSAGE.eml", type=Path)

    p = sub.add_parser("queue", help="look at the queues")
    qsub = p.add_subparsers(dest="queue_command", required=True, metavar="ACTION")
    _add_config(qsub.add_parser("counts", help="number of messages on each queue"))
    ql = qsub.add_parser("list", help="messages on one queue")
    _add_config(ql)
    ql.add_argument("queue", choices=["inbound", "outbound", "hold", "shunt"])
    ql.add_argument("--limit", type=int, default=100)
    qr = qsub.add_parser("requeue", help="give a shunted message to the pipeline again (after fixing the cause)")
    _add_config(qr)
    qr.add_argument("message_id", metavar="ID")

    p = sub.add_parser("history", help="the recipient history behind first-time recipient signals")
    hsub = p.add_subparsers(dest="history_command", required=True, metavar="ACTION")
    hi = hsub.add_parser("import", help="seed the history from Postfix mail logs, CSV files and sent mail")
    _add_config(hi)
    hi.add_argument("--postfix", metavar="MAILLOG", action="append", default=[], help="Postfix log (.gz too)")
    hi.add_argument("--csv", metavar="FILE", action="append", default=[], help="CSV: sender,recipient,sent_at")
    hi.add_argument("--mbox", metavar="FILE", action="append", default=[], help="sent mail in an mbox file")
    hi.add_argument("--maildir", metavar="DIR", action="append", default=[], help="sent mail in a Maildir")
    hi.add_argument("--replace", action="store_true", help="forget the existing history first")
    _add_config(hsub.add_parser("counts", help="sender-recipient pairs and organisations known"))
    _add_config(
        hsub.add_parser("prune", help="delete history unused for recipients.history_retention_days (also every 6 h)")
    )

    p = sub.add_parser("rules", help="validate the rules, or show what they make of messages")
    rsub = p.add_subparsers(dest="rules_command", required=True, metavar="ACTION")
    _add_config(rsub.add_parser("check", help="validate rules/, rules/local.d/ and the directory"))
    rt = rsub.add_parser("test", help="every rule hit and miss, the action and the reasons for each message")
    _add_config(rt)
    rt.add_argument("--json", action="store_true", help="print the decisions as a JSON list")
    rt.add_argument("--mail-from", metavar="ADDRESS", help="envelope sender (default: the From header)")
    rt.add_argument("--rcpt", metavar="ADDRESS", action="append", default=[], help="envelope recipient (repeatable)")
    rt.add_argument("messages", metavar="MESSAGE.eml", type=Path, nargs="+")

    sub.add_parser("hash-password", help="hash a password for smtp.auth_users (reads it from the terminal)")

    from gateway.cli.init import add_arguments

    text = "write a first config, users file (one admin) and directory, from questions or flags"
    add_arguments(sub.add_parser("init", help=text, description=text))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from gateway.logsetup import setup_logging

    if args.command == "hash-password":
        from gateway.passwords import hash_password

        password = getpass.getpass("password: ") if sys.stdin.isatty() else sys.stdin.readline().rstrip("\n")
        print(hash_password(password))
        return EXIT_OK
    if args.command == "init":
        from gateway.cli.init import run_init

        return run_init(args)
    try:
        config = load_config(args.config)
    except ConfigError as e:
        print(f"gateway: configuration error:\n{e}", file=sys.stderr)
        return EXIT_ERROR
    if args.command == "check-config":
        from gateway.cli.configcheck import check_config

        report = check_config(config)
        for note in report.notes:
            print(f"note: {note}")
        if report.problems:
            name = args.config or "(embedded defaults)"
            print(f"gateway: {name}: {len(report.problems)} problem(s):", file=sys.stderr)
            for problem in report.problems:
                print(f"  {problem}", file=sys.stderr)
            return EXIT_ERROR
        print(f"{args.config or '(embedded defaults)'}: OK")
        return EXIT_OK
    if args.command == "check":
        return _check(config, args)
    if args.command == "queue":
        return _queue(config, args)
    if args.command == "history":
        return _history(config, args)
    if args.command == "rules":
        from gateway.cli.rules import rules_check, rules_test

        if args.rules_command == "check":
            return rules_check(config)
        return rules_test(config, args.messages, args.json, args.mail_from, args.rcpt)

    from gateway.service import run_node

    os.umask(0o077)  # the store, its side files and anything else the node creates: the gateway's user only
    setup_logging(config.log_level)
    parts = ("smtp", "worker", "deliver", "web") if args.command == "run" else (args.command,)
    from gateway.cli.summary import log_summary
    from gateway.policy import PolicyError
    from gateway.processes import ChildFailed
    from gateway.scan.ner import ScanModelError
    from gateway.store.base import StoreError
    from gateway.web.auth import UserFileError

    log_summary(config, args.config)
    try:
        run_node(config, parts)
    except PolicyError as e:
        print(f"gateway: cannot start: the rules are not valid:\n{e}", file=sys.stderr)
        return EXIT_ERROR
    except ScanModelError as e:
        print(f"gateway: cannot start: the personal-data scanner cannot run: {e}", file=sys.stderr)
        return EXIT_ERROR
    except ChildFailed as e:
        print(f"gateway: stopped: {e}", file=sys.stderr)
        return EXIT_ERROR
    except StoreError as e:
        print(f"gateway: cannot start: the store {config.store.url}: {e} (set store.url)", file=sys.stderr)
        return EXIT_ERROR
    except UserFileError as e:
        print(f"gateway: cannot start: the users file is not valid: {e}", file=sys.stderr)
        return EXIT_ERROR
    except OSError as e:
        print(f"gateway: cannot start: {e}", file=sys.stderr)
        return EXIT_ERROR
    return EXIT_OK


def _check(config: Config, args: argparse.Namespace) -> int:
    try:
        raw = args.message.read_bytes()
    except OSError as e:
        print(f"gateway: {args.message}: {e.strerror}", file=sys.stderr)
        return EXIT_ERROR
    try:
        envelope = envelope_from_headers(raw, args.mail_from, args.rcpt)
    except ValueError as e:
        print(f"gateway: {args.message}: {e}", file=sys.stderr)
        return EXIT_USAGE
    from gateway.cli.decide import decide_all
    from gateway.cli.rules import load_or_report

    policy = load_or_report(config)
    if policy is None:
        return EXIT_ERROR
    from gateway.cli.dryrun import dry_run_config
    from gateway.scan.ner import ScanModelError

    try:
        with dry_run_config(config, lambda note: print(f"gateway: note: {note}", file=sys.stderr)) as dry:
            [verdict] = asyncio.run(decide_all(dry, policy, [(envelope, raw)]))
    except ScanModelError as e:
        print(f"gateway: the personal-data scanner cannot run: {e}", file=sys.stderr)
        return EXIT_ERROR
    if args.json:
        print(json.dumps({"message": str(args.message), **verdict.to_json()}, ensure_ascii=False, indent=2))
    else:
        print("\n".join(verdict_lines(verdict, str(args.message))))
    return EXIT_OK


def _history(config: Config, args: argparse.Namespace) -> int:
    from gateway.recipients.contacts_backends import open_contacts
    from gateway.recipients.history_backends import open_node_history
    from gateway.recipients.history_import import import_files

    history = open_node_history(config.store.url, config.recipients)
    orgs = history.orgs
    contacts = open_contacts(config.store.url)
    try:
        if args.history_command == "prune":
            from gateway.recipients.pruning import prune_once

            days = config.recipients.history_retention_days
            removed = prune_once(history, days, contacts=contacts)
            print(f"deleted {removed['pairs']} pair(s) and {removed['orgs']} organisation(s) unused for {days:g} days")
            print(
                f"deleted {removed['names']} name(s), {removed['threads']} thread id(s) and {removed['files']} "
                "attachment digest(s) from the contact book"
            )
            return EXIT_OK
        if args.history_command == "counts":
            for key, value in {**history.counts(), **contacts.counts()}.items():
                print(f"{key:7} {value}")
            return EXIT_OK
        mailboxes = getattr(args, "mbox", []) or getattr(args, "maildir", [])
        if not args.postfix and not args.csv and not mailboxes:
            print(
                "gateway: history import: give --postfix MAILLOG, --csv FILE, --mbox FILE and/or --maildir DIR",
                file=sys.stderr,
            )
            return EXIT_USAGE
        if args.replace:
            history.clear()
            contacts.clear()
        if mailboxes:
            from gateway.recipients.mail_import import import_mailboxes

            try:
                counted = import_mailboxes(
                    history,
                    contacts if config.recipients.misaddressed.enabled else None,
                    mbox=args.mbox,
                    maildirs=args.maildir,
                    internal_domains=config.organization.internal_domains,
                    affiliate_domains=config.recipients.affiliate_domains,
                    orgs=orgs,
                    limits=config.extract,
                    min_attachment_bytes=config.recipients.misaddressed.min_attachment_bytes,
                    echo=print,
                )
            except OSError as e:
                print(f"gateway: history import: {e.filename}: {e.strerror}", file=sys.stderr)
                return EXIT_ERROR
            if not args.postfix and not args.csv:
                print(f"total: {counted.recorded} sender-recipient deliveries recorded")
                return EXIT_OK
        try:
            totals = import_files(
                history,
                postfix=args.postfix,
                csv_files=args.csv,
                internal_domains=config.organization.internal_domains,
                ignore_relays=[config.smtp.listen],
                echo=print,
            )
        except OSError as e:
            print(f"gateway: history import: {e.filename}: {e.strerror}", file=sys.stderr)
            return EXIT_ERROR
        print(f"total: {totals.recorded} sender-recipient deliveries recorded")
        return EXIT_OK
    finally:
        history.close()
        contacts.close()


def _queue(config: Config, args: argparse.Namespace) -> int:
    from gateway.store import open_store
    from gateway.store.base import Queue, StoreError

    try:
        store = open_store(config.store.url)
    except (StoreError, ValueError, OSError) as e:
        print(f"gateway: cannot open the store {config.store.url}: {e}", file=sys.stderr)
        return EXIT_ERROR
    try:
        if args.queue_command == "counts":
            for queue, count in store.counts().items():
                print(f"{queue.value:10} {count}")
        elif args.queue_command == "requeue":
            lease = store.claim_message(Queue.SHUNT, args.message_id, config.worker.lease_seconds)
            if lease is None:
                print(f"gateway: {args.message_id} is not on the shunt queue", file=sys.stderr)
                return EXIT_ERROR
            message = lease.message
            # Back to the queue it failed on, as the admin page's retry does: delivery failures are
            # delivered again, everything else is inspected again.
            outbound = message.released or message.is_notice or bool(message.delivered)
            target = Queue.OUTBOUND if outbound or message.shunt_reason.startswith("outbound") else Queue.INBOUND
            message.failures, message.attempts, message.shunt_reason = 0, 0, ""
            if not store.move(lease, target, message):
                print(f"gateway: {args.message_id} was moved meanwhile", file=sys.stderr)
                return EXIT_ERROR
            print(f"{message.id} back on the {target} queue")
        else:
            for m in store.list_queue(Queue(args.queue), limit=args.limit):
                note = m.shunt_reason or m.deferred_reason or m.last_error
                print(
                    f"{m.id} rcpts={len(m.envelope.rcpt_tos)} pending={len(m.pending)} tries={m.attempts} "
                    f"failures={m.failures} {note}"
                )
    finally:
        store.close()
    return EXIT_OK
