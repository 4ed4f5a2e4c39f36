"""`gateway history import|counts` on a sample Postfix log and CSV, into the configured store."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.cli import main

DATA = Path(__file__).resolve().parents[1] / "data" / "recipients"


def test_import_postfix_log_and_csv(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(
        f"store:\n  url: sqlite:///{tmp_path}/gw.db\norganization:\n  internal_domains: [example.co.jp]\n"
    )
    assert main(["history", "import", "--config", str(config), "--postfix", str(DATA / "maillog.sample")]) == 0
    out = capsys.readouterr().out
    assert "maillog.sample: done:" in out
    recorded = int(out.split("total: ")[1].split()[0])
    assert recorded > 0
    assert "@" not in out  # counts only, never addresses
    assert main(["history", "import", "--config", str(config), "--csv", str(DATA / "history.csv")]) == 0
    more = int(capsys.readouterr().out.split("total: ")[1].split()[0])
    assert more > 0
    assert main(["history", "counts", "--config", str(config)]) == 0
    counts = dict(line.split() for line in capsys.readouterr().out.splitlines())
    assert int(counts["pairs"]) > 0


def test_import_needs_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(f"store:\n  url: sqlite:///{tmp_path}/gw.db\n")
    assert main(["history", "import", "--config", str(config)]) == 2
    assert main(["history", "import", "--config", str(config), "--csv", str(tmp_path / "absent.csv")]) == 1
    assert "absent.csv" in capsys.readouterr().err


def test_prune_deletes_what_is_older_than_the_retention(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import time

    from gateway.recipients.history_backends import open_history

    config = tmp_path / "config.yaml"
    config.write_text(
        f"store:\n  url: sqlite:///{tmp_path}/gw.db\norganization:\n  internal_domains: [example.co.jp]\n"
        "recipients:\n  first_time_window_days: 30\n  org_first_time_window_days: 30\n"
        "  history_retention_days: 90\n"
    )
    history = open_history(f"sqlite:///{tmp_path}/gw.db")
    now = time.time()
    history.record_delivery("taro@example.co.jp", ["old@partner.example"], now - 100 * 86400)
    history.record_delivery("taro@example.co.jp", ["new@other.example"], now - 10 * 86400)
    history.close()
    assert main(["history", "prune", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "deleted 1 pair(s) and 1 organisation(s) unused for 90 days" in out
    assert "@" not in out
    assert main(["history", "counts", "--config", str(config)]) == 0
    counts = dict(line.split() for line in capsys.readouterr().out.splitlines())
    assert counts == {"pairs": "1", "orgs": "1", "names": "0", "threads": "0", "files": "0"}  # and the contact book


def test_retention_shorter_than_a_window_is_a_config_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(f"store:\n  url: sqlite:///{tmp_path}/gw.db\nrecipients:\n  history_retention_days: 30\n")
    assert main(["check-config", "--config", str(config)]) != 0
    err = capsys.readouterr().err
    assert "history_retention_days" in err and "365" in err
