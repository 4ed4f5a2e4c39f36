"""A message nested deeper than the stdlib email parser can recurse (RecursionError) must still be
decided on: the pipeline parses its headers, the extraction reports it UNSCANNABLE, a hold can be
made of it, and `gateway check` reads its envelope. Found by the hostile-input suite."""

from __future__ import annotations

from pathlib import Path

from gateway.cli import main
from gateway.extract import UNSCANNABLE, extract_message
from gateway.flow import parse
from gateway.hold.details import details_of, preview
from gateway.verdict import Action, Reason, RuleHit, Verdict

DEPTH = 2000


def nested(depth: int = DEPTH) -> bytes:
    head = "From: taro@example.co.jp\r\nTo: partner@partner.example\r\nSubject: deep\r\nMIME-Version: 1.0\r\n"
    opening = "".join(f'Content-Type: multipart/mixed; boundary="b{i}"\r\n\r\n--b{i}\r\n' for i in range(depth))
    closing = "".join(f"--b{i}--\r\n" for i in reversed(range(depth)))
    return (head + opening + "Content-Type: text/plain\r\n\r\nhello\r\n" + closing).encode()


def test_pipeline_parse_falls_back_to_headers() -> None:
    message = parse(nested())
    assert message["Subject"] == "deep"
    assert message["To"] == "partner@partner.example"
    assert sum(len(part.defects) for part in message.walk()) == 0


def test_extraction_reports_it_unscannable() -> None:
    extraction = extract_message(nested())
    assert any(f.entity == UNSCANNABLE for f in extraction.findings)


def test_hold_details_and_preview_do_not_raise() -> None:
    reason = Reason("unscannable_external", "cannot be read", "読めません")
    verdict = Verdict(
        action=Action.HOLD_SENDER, reasons=[reason], hits=[RuleHit("unscannable_external", Action.HOLD_SENDER, reason)]
    )
    verdict.facts = {}
    assert details_of(verdict, nested())["subject"] == "deep"
    assert preview(nested()) == ""


def test_check_reads_the_envelope_from_headers(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    eml = tmp_path / "deep.eml"
    eml.write_bytes(nested())
    assert main(["check", str(eml)]) == 0
    assert "hold_sender" in capsys.readouterr().out
