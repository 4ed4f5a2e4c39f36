"""The deferral schedule, like Postfix: back off from `initial`, doubling up to `maximum`, and give up
once a message has been queued for `lifetime` (counted from when the gateway accepted it)."""

from __future__ import annotations

from gateway.config import RetryConfig


def backoff(attempts: int, retry: RetryConfig) -> float:
    """Seconds to wait after the `attempts`-th failed attempt (1 → initial, 2 → 2×initial, ...)."""
    exponent = max(attempts - 1, 0)
    # Cap the exponent before computing the power so that a huge attempt count cannot overflow.
    if exponent >= 64:
        return retry.maximum
    return float(min(retry.initial * (2**exponent), retry.maximum))


def expires_at(received_at: float, retry: RetryConfig) -> float:
    return received_at + retry.lifetime


def expired(received_at: float, now: float, retry: RetryConfig) -> bool:
    """True once the message has been queued for its whole lifetime: remaining recipients bounce."""
    return now >= expires_at(received_at, retry)


def next_attempt_at(received_at: float, attempts: int, now: float, retry: RetryConfig) -> float:
    """When to try again. Never later than the end of the lifetime, so that the last try (and the
    give-up notice) happens on time instead of up to one `maximum` late."""
    delay = now + backoff(attempts, retry)
    end = expires_at(received_at, retry)
    return min(delay, end) if now < end else delay


def lifetime_text(retry: RetryConfig) -> str:
    """'5 days', '1 day', '2 hours', '30 seconds': for the give-up status."""
    seconds = retry.lifetime
    for unit, size in (("day", 86400.0), ("hour", 3600.0), ("minute", 60.0)):
        if seconds >= size:
            amount = seconds / size
            shown = f"{amount:g}" if amount != int(amount) else str(int(amount))
            return f"{shown} {unit}{'' if shown == '1' else 's'}"
    shown = f"{seconds:g}"
    return f"{shown} second{'' if shown == '1' else 's'}"
