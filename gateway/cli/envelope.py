"""The envelope `gateway check` and `gateway rules test` assume for a sample message: From, then To/Cc/Bcc."""

from __future__ import annotations

import email.parser
import email.policy

from gateway.mail.addresses import AddressError, parse_mailbox
from gateway.message import Envelope


def envelope_from_headers(raw: bytes, mail_from: str | None, rcpts: list[str]) -> Envelope:
    """Envelope defaults for `check`: From, and To/Cc/Bcc, each address validated strictly."""
    headers = email.parser.BytesHeaderParser(policy=email.policy.default).parsebytes(raw)  # the body may not parse

    def addresses(name: str) -> list[str]:
        found = []
        for value in headers.get_all(name) or []:
            for address in getattr(value, "addresses", ()):
                try:
                    found.append(parse_mailbox(address.addr_spec))
                except AddressError as e:
                    raise ValueError(f"{name} header: {e}") from None
        return found

    sender = mail_from if mail_from is not None else next(iter(addresses("From")), "")
    recipients = rcpts or addresses("To") + addresses("Cc") + addresses("Bcc")
    if not recipients:
        raise ValueError("no recipients: give --rcpt or a message with To/Cc/Bcc headers")
    return Envelope(mail_from=sender, rcpt_tos=tuple(recipients))
