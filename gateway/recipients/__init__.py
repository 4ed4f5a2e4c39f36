"""Recipient risk signals: classification, allow/deny lists, history, lookalikes, DNS.

The one entry point is `assess_recipients(envelope, headers, ctx)`; see `assess.py`.
"""

from gateway.recipients.assess import RecipientContext, assess_recipients
from gateway.recipients.dnscheck import DnsStatus, DomainChecker
from gateway.recipients.domains import RecipientClass
from gateway.recipients.history import RecipientHistory, open_history
from gateway.recipients.model import RecipientAssessment, RecipientRisk
from gateway.recipients.settings import RecipientsConfig

__all__ = [
    "DnsStatus",
    "DomainChecker",
    "RecipientAssessment",
    "RecipientClass",
    "RecipientContext",
    "RecipientHistory",
    "RecipientRisk",
    "RecipientsConfig",
    "assess_recipients",
    "open_history",
]
