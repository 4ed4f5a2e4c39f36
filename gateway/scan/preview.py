"""Masked previews: the first lines of each attached file's text, for the person deciding on a hold.

Made in the inspection worker, where the text and the scanner's hits are (the web process has no
scanner and must not parse attachments on its event loop): `head()` masks the first lines of one
segment while its hits are at hand, `attachment_previews()` groups the heads by attached file and
says which files could not be read. Only masked text leaves the worker.

Masking, in this order, on the window of text that can be shown:
  1. every hit the scanner found at or above its threshold, also those the quiet stage then let go
     (the organisation's own numbers, quoted text, signatures): masked like the findings' samples
     (gateway.scan.mask: 山田**, 090-****-5678);
  2. a safety margin for what no recognizer claimed: every run of 7 or more digits (single hyphens
     or spaces between them allowed) keeps only its last 2 digits, so an identifier with a wrong check
     digit, a bank account or a phone number in an unusual form never shows in full. Dates written
     yyyy-mm-dd or yyyy/mm/dd are left alone (they are what a reader needs to recognise a file);
  3. control and format characters (bidi overrides, zero-width) are dropped; tabs become " | ".
Then the text is cut to `scan.preview_lines` non-blank lines and `scan.preview_chars` characters.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence

from gateway.content import Extraction, Finding, Segment
from gateway.scan.mask import mask
from gateway.scan.model import AttachmentPreview, Hit

# Text a person sees in the file. Not: file names (shown anyway), header fields of an attached
# message, hidden text (comments, metadata) — travelling but not what the file shows.
SHOWN_KINDS = frozenset({"attachment", "table", "body", "calendar"})
# Text about the file rather than in it (sheet names, document properties, bookmarks): shown after
# the file's own text, so the first lines are what a person would see on opening it.
ABOUT_THE_FILE = frozenset(
    {"workbook", "document properties", "custom properties", "properties", "links", "bookmarks", "document information"}
)
WINDOW_SLACK = 200  # characters past the cut that are masked too, so a hit across the cut is whole

_DIGITS = re.compile(r"(?<!\d)\d(?:[- ]?\d){6,}(?!\d)")
_DATE = re.compile(r"(?:19|20)\d\d[-/][01]?\d[-/][0-3]?\d")
_DIGIT = re.compile(r"\d")


def shows(seg: Segment) -> bool:
    """Whether a segment's text is part of an attached file's preview."""
    return bool(seg.attachment) and seg.kind in SHOWN_KINDS


def _mask_digit_runs(text: str) -> str:
    def hide(m: re.Match[str]) -> str:
        run = m.group(0)
        if _DATE.fullmatch(run):
            return run
        keep = {d.start() for d in _DIGIT.finditer(run)}
        last_two = sorted(keep)[-2:]
        return "".join("*" if i in keep and i not in last_two else c for i, c in enumerate(run))

    return _DIGITS.sub(hide, text)


def _clean(text: str) -> str:
    out = []
    for c in text:
        if c == "\n":
            out.append(c)
        elif c == "\t":
            out.append(" | ")
        elif unicodedata.category(c) in ("Cc", "Cf", "Cs", "Co", "Zl", "Zp"):
            out.append(" " if c in "\r\x0b\x0c\u2028\u2029\x85" else "")
        else:
            out.append(c)
    return "".join(out)


def head(text: str, hits: Iterable[Hit], lines: int, chars: int) -> str:
    """The first `lines` non-blank lines (at most `chars` characters plus a little) of `text`, masked.

    `hits` are offsets into `text` (the scanner's normalised text)."""
    if lines <= 0 or chars <= 0:
        return ""
    end, seen, pos = len(text), 0, 0
    while pos < len(text) and seen < lines:
        nl = text.find("\n", pos)
        nl = len(text) if nl < 0 else nl
        if text[pos:nl].strip():
            seen += 1
        pos = nl + 1
    end = min(pos, chars * 2 + WINDOW_SLACK, len(text))
    out: list[str] = []
    at = 0
    for h in sorted((h for h in hits if h.start < end), key=lambda h: (h.start, -h.end)):
        if h.end <= at:  # inside a span already masked
            continue
        start = max(h.start, at)
        out.append(text[at:start])
        out.append(mask(h.entity, text[start : h.end]) or "***")
        at = h.end
    if at < end:
        out.append(text[at:end])
    return _clean(_mask_digit_runs("".join(out)))


def _natural(part: str) -> tuple[int, ...]:
    return tuple(int(p) if p.isdigit() else 0 for p in part.replace("#", ".").split("."))


def _about(seg: Segment) -> bool:
    return seg.sheet in ABOUT_THE_FILE


def heads_of(places: Iterable[tuple[Segment, str, list[Hit]]], lines: int, chars: int, files: int) -> dict[int, str]:
    """Masked heads of the segments that make up the previews (segment index -> text): only as many
    segments per file as can fill its lines (text about the file not counted), and only the first
    `files` files."""
    out: dict[int, str] = {}
    per_file: dict[tuple[str, str, tuple[str, ...]], int] = {}
    if lines <= 0 or chars <= 0 or files <= 0:
        return out
    for i, (seg, text, hits) in enumerate(places):
        if not shows(seg):
            continue
        key = (seg.part, seg.attachment, seg.path)
        if key not in per_file and len(per_file) >= files:
            continue
        n = per_file.get(key, 0)
        if n >= lines:
            out[i] = ""  # scanned, but the preview is full
            continue
        per_file[key] = n + (0 if _about(seg) else 1)
        out[i] = head(text, hits, lines, chars)
    return out


def attachment_previews(
    extraction: Extraction,
    heads: dict[int, str],
    lines: int,
    chars: int,
    files: int,
    scan_findings: Sequence[Finding] = (),
) -> list[AttachmentPreview]:
    """One preview per attached file (archive members and embedded files with their path), in the
    order of the message: its masked first lines, or why it could not be read."""
    if lines <= 0 or chars <= 0 or files <= 0:
        return []
    Key = tuple[str, str, tuple[str, ...]]
    texts: dict[Key, list[str]] = {}
    about: dict[Key, list[str]] = {}
    unread_segments: set[Key] = set()
    for i, seg in enumerate(extraction.segments):
        if not shows(seg):
            continue
        key = (seg.part, seg.attachment, seg.path)
        if i in heads:
            (about if _about(seg) else texts).setdefault(key, []).append(heads[i])
        else:  # not scanned (the scan stopped at its time budget): nothing of it is shown
            unread_segments.add(key)
    reasons: dict[Key, str] = {}
    for f in extraction.findings:
        if f.entity == "UNSCANNABLE" and f.attachment:
            reasons.setdefault((f.part, f.attachment, f.path), f.reason)
    scan_stopped = next((f.reason for f in scan_findings if f.entity == "UNSCANNABLE"), "")
    tops = {(a.part, a.name) for a in extraction.attachments if not a.path}
    keys: list[Key] = []
    for a in extraction.attachments:
        top = next((name for part, name in tops if part == a.part), a.name) if a.path else a.name
        keys.append((a.part, top, a.path))
    keys += [k for k in (*texts, *about, *reasons, *unread_segments) if k not in keys]
    keys = sorted(dict.fromkeys(keys), key=lambda k: (_natural(k[0]), k[1], k[2]))

    def container(k: Key) -> bool:  # an archive with nothing to say itself: its members speak
        return any(o[:2] == k[:2] and len(o[2]) > len(k[2]) and o[2][: len(k[2])] == k[2] for o in keys)

    keys = [k for k in keys if texts.get(k) or about.get(k) or k in reasons or k in unread_segments or not container(k)]
    out: list[AttachmentPreview] = []
    for key in keys[:files]:
        body = "\n".join(t for t in (*texts.get(key, []), *about.get(key, [])) if t)
        shown = [line.rstrip() for line in body.split("\n") if line.strip()]
        text = "\n".join(shown[:lines])
        truncated = len(shown) > lines or len(text) > chars
        text = text[:chars]
        reason = reasons.get(key, "")
        if not reason and key in unread_segments:
            reason = scan_stopped or "limit-time"
        out.append(AttachmentPreview(key[0], key[1], key[2], text, truncated, reason))
    return out
