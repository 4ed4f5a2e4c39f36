"""`gateway rules check`, `gateway rules test` and `gateway check --json` as an admin runs them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from gateway.cli import main

RULES = Path(__file__).parents[3] / "tests" / "rules"


def config(tmp_path: Path, **policy: str) -> str:
    path = tmp_path / "config.yaml"
    data = {
        "store": {"url": f"sqlite:///{tmp_path}/gw.db"},
        "organization": {"internal_domains": ["example.co.jp"]},
        "recipients": {
            "dns": {"enabled": False},
            "partners": [{"name": "さくら商事", "domains": ["sakura-shoji.co.jp"]}],
        },
        "policy": policy,
        "scan": {"ner_window_chars": 0},  # patterns and Sudachi only: GiNZA is not under test here
        "inspection": {"workers": 1},
    }
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return str(path)


def test_rules_check_ok(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "check", "-c", config(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "bulk_pii_external" in out and "(monitor)" in out and out.rstrip().endswith("OK")


def test_rules_check_lists_every_problem(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    local = tmp_path / "local.d"
    local.mkdir()
    (local / "site.yaml").write_text(
        "rules:\n  - name: lookalike_domain\n    action: hold_everyone\n  - name: bulk_pii_external\n"
        "    when: {pii.records: {gte: 1}, attachment.type: zip}\n",
        encoding="utf-8",
    )
    assert main(["rules", "check", "-c", config(tmp_path, local_dir=str(local))]) == 1
    err = capsys.readouterr().err
    assert "the rules are not valid (2 problem(s))" in err
    assert f"{local}/site.yaml:3: action: Input should be" in err
    assert f"{local}/site.yaml:5: rule 'bulk_pii_external': when: unknown fact 'attachment.type'" in err


def test_rules_test_compares_with_the_expectation(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    eml = tmp_path / "lookalike.eml"
    eml.write_bytes((RULES / "lookalike_partner_domain.eml").read_bytes())
    eml.with_suffix(".expect.yaml").write_text("action: relay\nhits: []\n", encoding="utf-8")
    assert main(["rules", "test", "-c", config(tmp_path), str(eml)]) == 1
    out = capsys.readouterr().out
    assert "hit  lookalike_domain → hold_sender" in out
    assert "miss internal_only: recipients.all_internal eq true (is false)" in out
    assert "FAIL" in out and "action: expected relay, got hold_sender" in out

    eml.with_suffix(".expect.yaml").write_text("action: hold_sender\nhits: [lookalike_domain]\n", encoding="utf-8")
    assert main(["rules", "test", "--json", "-c", config(tmp_path), str(eml)]) == 0
    (result,) = json.loads(capsys.readouterr().out)
    assert result["test"] == {"passed": True, "problems": []}
    assert result["action"] == "hold_sender"


def test_check_json_shows_hits_misses_action_and_reasons(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    eml = RULES / "encrypted_zip_to_partner.eml"
    assert main(["check", "--json", "-c", config(tmp_path), str(eml)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["action"] == "hold_sender"
    assert [h["rule"] for h in out["rules"]["hits"]] == ["unscannable_external"]
    assert "nonexistent_domain" in [m["rule"] for m in out["rules"]["misses"]]
    assert "暗号化された ZIP ファイル" in out["reasons"][0]["ja"]
    assert "Encrypted ZIP archive" in out["reasons"][0]["en"]
    assert out["attachments"][0]["encrypted"] is True  # the facts are still there
