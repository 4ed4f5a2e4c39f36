"""Dry runs never write: `gateway check` and `gateway rules test` read what the gateway has learned
(the recipient history) from a read-only copy, never create the store, and say so when they decide
on an empty temporary one; `rules test` over a folder reports a file it cannot take and goes on;
`check-config` checks what start-up loads, so that OK means it starts."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest
import yaml

from gateway.cli import main
from gateway.recipients.history_backends import open_history
from gateway.store import open_store

SAMPLES = Path(__file__).parents[2] / "rules"
MESSAGE = SAMPLES / "pii_to_first_time_recipient.eml"  # taro.yamada@example.co.jp -> info@new-customer.co.jp


def write_config(tmp_path: Path, store_url: str, **extra: object) -> str:
    data: dict[str, object] = {
        "store": {"url": store_url},
        "organization": {"internal_domains": ["example.co.jp"]},
        "recipients": {"dns": {"enabled": False}},
        **extra,
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return str(path)


def snapshot(directory: Path) -> dict[str, tuple[int, int]]:
    return {p.name: (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(directory.iterdir())}


def first_time(out: str) -> bool | None:
    (rcpt,) = json.loads(out)["recipients"]["recipients"]
    return rcpt["first_time_sender"]  # type: ignore[no-any-return]


def test_check_reads_the_history_and_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db_dir = tmp_path / "state"
    url = f"sqlite://{db_dir / 'gateway.db'}"
    config = write_config(tmp_path, url)

    # No store yet: decided on an empty temporary store, said so, nothing created.
    assert main(["check", "--json", "-c", config, str(MESSAGE)]) == 0
    captured = capsys.readouterr()
    assert "does not exist (yet): deciding with an empty temporary store" in captured.err
    assert first_time(captured.out) is True
    assert not db_dir.exists()

    # The gateway has delivered to that address before: the dry run sees it, and changes nothing.
    store, history = open_store(url), open_history(url)
    history.record_delivery("taro.yamada@example.co.jp", ["info@new-customer.co.jp"], time.time() - 86400)
    store.close()
    history.close()
    before = snapshot(db_dir)
    assert main(["check", "--json", "-c", config, str(MESSAGE)]) == 0
    captured = capsys.readouterr()
    assert first_time(captured.out) is False
    assert "temporary" not in captured.err
    assert snapshot(db_dir) == before


def test_a_store_that_does_not_answer_is_said_and_replaced(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path, "redis://127.0.0.1:1/0")
    assert main(["check", "-c", config, str(MESSAGE)]) == 0
    captured = capsys.readouterr()
    assert "does not answer" in captured.err and "empty temporary store" in captured.err
    assert captured.out.startswith(f"{MESSAGE}: ")


def test_rules_test_over_a_folder_goes_on_past_a_file_it_cannot_take(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "samples"
    (folder / "more").mkdir(parents=True)
    shutil.copy(SAMPLES / "internal_only.eml", folder / "a_good.eml")
    (folder / "b_no_domain.eml").write_bytes(b"From: taro\r\nTo: x@partner.example\r\nSubject: s\r\n\r\nhi\r\n")
    (folder / "more" / "c_no_rcpt.eml").write_bytes(b"From: taro@example.co.jp\r\nSubject: s\r\n\r\nhi\r\n")
    shutil.copy(SAMPLES / "internal_only.eml", folder / "more" / "d_good.eml")
    (folder / "notes.txt").write_text("not a message")
    config = write_config(tmp_path, f"sqlite://{tmp_path / 'none' / 'gateway.db'}")

    assert main(["rules", "test", "-c", config, str(folder)]) == 1  # errors make the run fail
    out = capsys.readouterr().out
    assert f"{folder / 'b_no_domain.eml'}: error: From header: " in out
    assert f"{folder / 'more' / 'c_no_rcpt.eml'}: error: no recipients" in out
    assert f"{folder / 'a_good.eml'}: relay" in out and f"{folder / 'more' / 'd_good.eml'}: relay" in out
    assert "notes.txt" not in out
    assert not (tmp_path / "none").exists()

    assert main(["rules", "test", "--json", "-c", config, str(folder)]) == 1
    results = json.loads(capsys.readouterr().out)
    names = [Path(r["message"]).name for r in results]
    assert names == ["a_good.eml", "b_no_domain.eml", "c_no_rcpt.eml", "d_good.eml"]
    assert [("error" in r) for r in results] == [False, True, True, False]


def test_check_config_checks_what_start_up_loads(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    users = tmp_path / "users.yaml"
    users.write_text("users:\n  - username: admin\n    password: plain\n", encoding="utf-8")
    config = write_config(
        tmp_path,
        f"sqlite://{tmp_path / 'state' / 'gateway.db'}",
        web={"users_file": str(users)},
        policy={"directory": str(tmp_path / "directory.yaml")},
        smtp={"tls_cert": str(tmp_path / "cert.pem"), "tls_key": str(tmp_path / "key.pem")},
    )
    (tmp_path / "cert.pem").write_text("not a certificate")
    (tmp_path / "key.pem").write_text("not a key")
    assert main(["check-config", "-c", config]) == 1
    err = capsys.readouterr().err
    assert "web.users_file:" in err and "password" in err
    assert "directory.yaml" in err and "cannot read" in err
    assert "smtp.tls_cert / smtp.tls_key" in err
    assert not (tmp_path / "state").exists()


def test_check_config_names_a_store_this_user_cannot_create(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "a-file").write_text("not a directory")  # nobody, not even root, creates a directory in it
    config = write_config(tmp_path, f"sqlite://{tmp_path / 'a-file' / 'state' / 'gateway.db'}")
    assert main(["check-config", "-c", config]) == 1
    assert "cannot create it" in capsys.readouterr().err
