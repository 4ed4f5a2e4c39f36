"""What could not be read: stable reason codes of UNSCANNABLE and AMBIGUOUS_MIME findings, with
English and Japanese text, and `unscannable()`, the one way to make such a finding.

Rules match on the code; people read the text plus the finding's `detail` and provenance.
"""

from __future__ import annotations

from enum import StrEnum

from gateway.content import Finding

UNSCANNABLE = "UNSCANNABLE"
AMBIGUOUS_MIME = "AMBIGUOUS_MIME"


class Reason(StrEnum):
    ENCRYPTED_ZIP = "encrypted-zip"
    ENCRYPTED_PDF = "encrypted-pdf"
    ENCRYPTED_OFFICE = "encrypted-office"
    ENCRYPTED_MESSAGE = "encrypted-message"
    UNKNOWN_FORMAT = "unknown-format"
    UNSUPPORTED_FORMAT = "unsupported-format"
    PARSE_ERROR = "parse-error"
    UNDECODABLE_TEXT = "undecodable-text"
    ZIP_BOMB = "zip-bomb"
    XML_DOCTYPE = "xml-doctype"
    MALFORMED_MIME = "malformed-mime"
    PARTIAL_MESSAGE = "partial-message"
    XFA_FORM = "xfa-form"
    LIMIT_DECOMPRESSED = "limit-decompressed-bytes"
    LIMIT_ATTACHMENT_SIZE = "limit-attachment-bytes"
    LIMIT_ARCHIVE_DEPTH = "limit-archive-depth"
    LIMIT_ARCHIVE_ENTRIES = "limit-archive-entries"
    LIMIT_MIME_DEPTH = "limit-mime-depth"
    LIMIT_MIME_PARTS = "limit-mime-parts"
    LIMIT_ATTACHMENTS = "limit-attachments"
    LIMIT_ATTACHMENT_TEXT = "limit-attachment-text"
    LIMIT_MESSAGE_TEXT = "limit-message-text"
    LIMIT_PDF_PAGES = "limit-pdf-pages"
    LIMIT_CPU = "limit-cpu"
    LIMIT_MEMORY = "limit-memory"
    LIMIT_TIME = "limit-time"
    WORKER_FAILED = "worker-failed"
    OCR_UNAVAILABLE = "ocr-unavailable"
    LIMIT_OCR_TIME = "limit-ocr-time"
    LIMIT_IMAGE_PIXELS = "limit-image-pixels"
    IMAGE_UNDECODABLE = "image-undecodable"
    METAFILE_TEXT = "metafile-text"
    EXTERNAL_BODY = "external-body"
    INTERNAL_ERROR = "internal-error"
    # AMBIGUOUS_MIME
    DUPLICATE_CONTENT_TYPE = "duplicate-content-type"
    DUPLICATE_BOUNDARY = "duplicate-boundary"
    DUPLICATE_TRANSFER_ENCODING = "duplicate-transfer-encoding"


TEXT: dict[Reason, tuple[str, str]] = {
    Reason.ENCRYPTED_ZIP: ("Encrypted ZIP archive", "暗号化された ZIP ファイル"),
    Reason.ENCRYPTED_PDF: ("Encrypted PDF", "暗号化された PDF"),
    Reason.ENCRYPTED_OFFICE: ("Password-protected Office file", "パスワード付きの Office ファイル"),
    Reason.ENCRYPTED_MESSAGE: ("Encrypted message (S/MIME or PGP)", "暗号化されたメール (S/MIME・PGP)"),
    Reason.UNKNOWN_FORMAT: ("Unknown binary format", "形式を判別できないファイル"),
    Reason.UNSUPPORTED_FORMAT: ("Format that cannot be read", "読み取りに対応していない形式"),
    Reason.PARSE_ERROR: ("File could not be parsed", "ファイルを解析できませんでした"),
    Reason.UNDECODABLE_TEXT: ("Text in an undecodable character set", "文字コードを判別できないテキスト"),
    Reason.ZIP_BOMB: ("Archive built to exhaust resources", "解凍爆弾と見られるアーカイブ"),
    Reason.XML_DOCTYPE: (
        "Office file or drawing (SVG) with a DOCTYPE (entity bomb)",
        "DOCTYPE を含む Office ファイル・図 (SVG)",
    ),
    Reason.MALFORMED_MIME: ("Malformed MIME structure", "MIME 構造の異常"),
    Reason.PARTIAL_MESSAGE: (
        "Part of a message split into several mails (message/partial)",
        "分割送信されたメールの一部 (message/partial)",
    ),
    Reason.XFA_FORM: ("PDF with an XFA form (dynamic form content)", "XFA フォームを含む PDF"),
    Reason.LIMIT_DECOMPRESSED: ("Too much data after decompression", "展開後のサイズが上限を超過"),
    Reason.LIMIT_ATTACHMENT_SIZE: ("Attachment too large", "添付ファイルが大きすぎます"),
    Reason.LIMIT_ARCHIVE_DEPTH: ("Archives nested too deeply", "アーカイブの入れ子が深すぎます"),
    Reason.LIMIT_ARCHIVE_ENTRIES: ("Archive with too many files", "アーカイブ内のファイル数が上限を超過"),
    Reason.LIMIT_MIME_DEPTH: ("MIME parts nested too deeply", "MIME の入れ子が深すぎます"),
    Reason.LIMIT_MIME_PARTS: ("Too many MIME parts", "MIME パートが多すぎます"),
    Reason.LIMIT_ATTACHMENTS: ("Too many attachments", "添付ファイルが多すぎます"),
    Reason.LIMIT_ATTACHMENT_TEXT: ("Attachment text only partly read", "添付ファイルの一部のみ読み取り"),
    Reason.LIMIT_MESSAGE_TEXT: ("Message text only partly read", "メッセージの一部のみ読み取り"),
    Reason.LIMIT_PDF_PAGES: ("PDF with too many pages", "PDF のページ数が上限を超過"),
    Reason.LIMIT_CPU: ("Reading took too much CPU time", "読み取りの CPU 時間が上限を超過"),
    Reason.LIMIT_MEMORY: ("Reading took too much memory", "読み取りのメモリ使用量が上限を超過"),
    Reason.LIMIT_TIME: ("Reading took too long", "読み取りの時間が上限を超過"),
    Reason.WORKER_FAILED: ("The reading process failed", "読み取り処理が異常終了しました"),
    Reason.OCR_UNAVAILABLE: (
        "Image not read: text recognition (OCR) is not available",
        "画像の文字を読み取れません (OCR が利用できません)",
    ),
    Reason.LIMIT_OCR_TIME: (
        "Reading the text in an image took too long",
        "画像の文字の読み取り (OCR) が時間の上限を超過",
    ),
    Reason.LIMIT_IMAGE_PIXELS: ("Image too large to read", "画像が大きすぎて読み取れません"),
    Reason.IMAGE_UNDECODABLE: (
        "Image that cannot be decoded (broken or of an unreadable format)",
        "画像を解読できません (破損しているか読み取りに対応していない形式)",
    ),
    Reason.METAFILE_TEXT: (
        "Drawing (EMF/WMF) whose text cannot be read",
        "図 (EMF/WMF) の文字を読み取れません",
    ),
    Reason.EXTERNAL_BODY: (
        "Content stored elsewhere, not in the message (message/external-body)",
        "本文がメールの外に置かれています (message/external-body)",
    ),
    Reason.INTERNAL_ERROR: ("Internal error while reading", "読み取り中の内部エラー"),
    Reason.DUPLICATE_CONTENT_TYPE: ("Duplicate Content-Type headers", "Content-Type ヘッダーの重複"),
    Reason.DUPLICATE_BOUNDARY: ("Duplicate MIME boundary parameters", "MIME 境界パラメータの重複"),
    Reason.DUPLICATE_TRANSFER_ENCODING: (
        "Duplicate Content-Transfer-Encoding headers",
        "Content-Transfer-Encoding ヘッダーの重複",
    ),
}


def describe(reason: str, lang: str = "en") -> str:
    try:
        en, ja = TEXT[Reason(reason)]
    except ValueError:
        return reason
    return ja if lang == "ja" else en


def unscannable(reason: Reason, detail: str, **where: object) -> Finding:
    """An UNSCANNABLE finding: `reason` for the rules, `detail` for people, optional provenance."""
    return Finding(entity=UNSCANNABLE, reason=str(reason), detail=detail, **where)  # type: ignore[arg-type]
