"""`gateway rules check` and `gateway rules test`: what an admin runs before and after a change."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from gateway.cli.decide import decide_each
from gateway.cli.dryrun import dry_run_config
from gateway.cli.envelope import envelope_from_headers
from gateway.cli.output import verdict_lines
from gateway.config import Config
from gateway.message import Envelope
from gateway.policy.errors import PolicyError
from gateway.policy.policy import Policy
from gateway.policy.ruletest import compare, load_expectation
from gateway.verdict import Verdict

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2


def load_or_report(config: Config) -> Policy | None:
    try:
        return Policy.load(config.policy)
    except PolicyError as e:
        print(f"gateway: the rules are not valid ({len(e.problems)} problem(s)):", file=sys.stderr)
        for problem in e.problems:
            print(f"  {problem}", file=sys.stderr)
        return None


def rules_check(config: Config) -> int:
    policy = load_or_report(config)
    if policy is None:
        return EXIT_ERROR
    settings = config.policy
    disabled = [s.name for s in policy.sources if s.name not in {r.name for r in policy.rules}]
    for label, directory in (("shipped rules", settings.rules_path), ("local rules", settings.local_path)):
        read = sorted(directory.glob("*.yaml")) if directory.is_dir() else []
        state = f"{len(read)} file(s) read" if directory.is_dir() else "does not exist (nothing read)"
        print(f"{label}: {directory}: {state}")
    print(f"rules: {len(policy.rules)} rule(s) in force")
    for rule in policy.rules:
        mode = " (monitor)" if rule.monitor else ""
        changed = next((s.changed_by for s in policy.sources if s.name == rule.name), [])
        note = f"  changed by {', '.join(changed)}" if changed else ""
        print(f"  {rule.name:28} {rule.action.value:12}{mode}{note}")
    if disabled:
        print(f"disabled: {', '.join(disabled)}")
    d = policy.directory
    if d.source:
        print(f"directory: {d.source}: {len(d.people)} people, {len(d.groups)} group(s)")
    print("OK")
    return EXIT_OK


def message_files(paths: list[Path]) -> list[Path]:
    """The messages to test: files as given, and every *.eml under a folder (sorted)."""
    found: list[Path] = []
    for path in paths:
        found += sorted(p for p in path.rglob("*.eml") if p.is_file()) if path.is_dir() else [path]
    return found


def rules_test(config: Config, messages: list[Path], as_json: bool, mail_from: str | None, rcpts: list[str]) -> int:
    """Every message gets its decision or its own error: one file that cannot be taken (unreadable,
    no recipients, a From without a domain ...) is reported as that file's error, and the rest go on."""
    policy = load_or_report(config)
    if policy is None:
        return EXIT_ERROR
    files = message_files(messages)
    if not files:
        print(f"gateway: no messages (*.eml) in {', '.join(map(str, messages))}", file=sys.stderr)
        return EXIT_USAGE
    cases: list[tuple[Path, Any, Envelope, bytes]] = []
    errors: dict[Path, str] = {}
    for path in files:
        try:
            raw = path.read_bytes()
            expect = load_expectation(path)
            sender = mail_from if mail_from is not None else (expect.mail_from if expect else None)
            envelope = envelope_from_headers(raw, sender, rcpts or (expect.rcpt if expect else []))
        except OSError as e:
            errors[path] = e.strerror or str(e)
            continue
        except (ValueError, PolicyError) as e:
            errors[path] = str(e)
            continue
        cases.append((path, expect, envelope, raw))
    with dry_run_config(config, lambda note: print(f"gateway: note: {note}", file=sys.stderr)) as dry:
        outcomes = asyncio.run(decide_each(dry, policy, [(envelope, raw) for _, _, envelope, raw in cases]))
    decided = {path: outcome for (path, _, _, _), outcome in zip(cases, outcomes, strict=True)}
    expects = {path: expect for path, expect, _, _ in cases}
    results: list[dict[str, Any]] = []
    failed = 0
    for path in files:
        outcome = decided.get(path)
        error = errors.get(path) if outcome is None else (outcome if isinstance(outcome, str) else None)
        if error is not None or not isinstance(outcome, Verdict):
            failed += 1
            error = error or "no decision"
            if as_json:
                results.append({"message": str(path), "error": error})
            else:
                print(f"{path}: error: {error}")
            continue
        verdict, expect = outcome, expects[path]
        problems = compare(expect, verdict) if expect else []
        failed += bool(problems)
        if as_json:
            out = {"message": str(path), **verdict.to_json()}
            if expect is not None:
                out["test"] = {"passed": not problems, "problems": problems}
            results.append(out)
        else:
            print("\n".join(verdict_lines(verdict, str(path))))
            if expect is not None:
                print("  test: " + ("PASS" if not problems else "FAIL\n    " + "\n    ".join(problems)))
    if as_json:
        print(json.dumps(results, ensure_ascii=False, indent=2))
    return EXIT_ERROR if failed else EXIT_OK
