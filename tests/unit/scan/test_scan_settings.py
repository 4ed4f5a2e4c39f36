"""ScanConfig: strict, frozen, documented; a missing model stops start-up with a clear message."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from gateway.scan import ScanConfig
from gateway.scan.engine import ScanModelError, Scanner


def test_defaults_and_every_field_documented() -> None:
    cfg = ScanConfig()
    assert cfg.bulk_records == 10 and cfg.min_score == 0.5 and cfg.ja_model == "ja_ginza"
    for name, field in ScanConfig.model_fields.items():
        assert field.description, name


@pytest.mark.parametrize(
    "bad",
    [{"unknown": 1}, {"thresholds": {"PERSON": 1.5}}, {"chunk_chars": 20_000}, {"bulk_records": 0}, {"workers": 0}],
)
def test_invalid_settings_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        ScanConfig.model_validate(bad)


def test_frozen() -> None:
    with pytest.raises(ValidationError):
        ScanConfig().min_score = 0.1  # type: ignore[misc]


def test_per_entity_threshold() -> None:
    cfg = ScanConfig(thresholds={"PERSON": 0.9})
    assert cfg.threshold("PERSON") == 0.9 and cfg.threshold("EMAIL_ADDRESS") == 0.5


def test_missing_japanese_model_stops_start_up() -> None:
    with pytest.raises(ScanModelError, match=r"no_such_model.*not installed.*scan\.ja_model"):
        Scanner(ScanConfig(ja_model="no_such_model"))


def test_missing_english_model_path_stops_start_up(tmp_path: Path) -> None:
    with pytest.raises(ScanModelError, match="en_model_path"):
        Scanner(ScanConfig(ner_window_chars=0, en_model_path=tmp_path / "missing"))


def test_unknown_entity_stops_start_up() -> None:
    with pytest.raises(ScanModelError, match="JP_SHOE_SIZE"):
        Scanner(ScanConfig(ner_window_chars=0, entities=["JP_SHOE_SIZE"]))


def test_entities_restrict_the_scan() -> None:
    only_mail = Scanner(ScanConfig(ner_window_chars=0, entities=["EMAIL_ADDRESS"]))
    from gateway.content import Segment

    result = only_mail.scan([Segment(text="携帯 090-1234-5678 a.b@gmail.com", kind="body")])
    assert result.entities() == {"EMAIL_ADDRESS"}
