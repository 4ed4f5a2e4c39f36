"""What one message's inspection produced: the rules decide on Facts, `gateway check --json` prints them.

Plain data: the tools that learn them are in tools.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gateway.content import Extraction
from gateway.recipients.misaddressed import Addressing
from gateway.recipients.model import RecipientAssessment
from gateway.scan.model import ScanResult


@dataclass
class Facts:
    size: int
    mime_defects: int
    extraction: Extraction
    recipients: RecipientAssessment
    scan: ScanResult = field(default_factory=ScanResult)  # personal data found
    content_inspected: bool = True  # False: no rule reads the content, so it was not extracted or scanned
    addressing: Addressing = field(default_factory=Addressing)  # content addressed to someone else
    subject: str = ""  # the Subject field as it travels, for hold details (not printed by to_json)

    def to_json(self) -> dict[str, Any]:
        return {
            "size": self.size,
            "mime_defects": self.mime_defects,
            "content_inspected": self.content_inspected,
            "attachments": [
                {
                    "name": a.name,
                    "type": a.detected_type,
                    "declared_type": a.declared_type,
                    "size": a.size,
                    "path": list(a.path),
                    "encrypted": a.encrypted,
                    "text_extracted": a.text_extracted,
                }
                for a in self.extraction.attachments
            ],
            "segments": len(self.extraction.segments),
            "findings": [
                {
                    "entity": f.entity,
                    "reason": f.reason,
                    "detail": f.detail,
                    "count": f.count,
                    "where": f.where,
                    "samples": list(f.samples),
                }
                for f in self.extraction.findings
            ],
            "personal_data": self.scan.to_json(),
            "recipients": self.recipients.to_json(),
            "misaddressed": self.addressing.to_json(),
        }
