"""Recipient risk signals: classification, allow/deny lists, history, lookalikes, DNS.

The one entry point is `assess_recipients(envelope, headers, ctx)` in assess.py; the history is
opened with `history_backends.open_history(url)`. Settings: gateway.config.recipients.
"""
