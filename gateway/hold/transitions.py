"""The hold state machine as pure decisions: each function returns a `Decide` for HoldStore.update,
which runs it on the current record inside one atomic update. Nothing here does I/O, so the same
rules hold for every backend, and a refused action changes nothing (Refused is raised before any
write).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from gateway.hold import tokens
from gateway.hold.model import Change, Hold, HoldState, LinkToken, Outcome, Scope
from gateway.hold.store import Decide


class Refused(Exception):
    """An action that may not happen. `code` is safe to log and to show (never the token)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


# code -> (ja, en), shown on the pages
REFUSALS = {
    "token": ("このリンクは無効です。", "This link is not valid."),
    "scope": ("このリンクではその操作はできません。", "This link does not allow that action."),
    "used": ("このリンクは既に使用されています。", "This link has already been used."),
    "expired": ("このリンクの有効期限が切れています。", "This link has expired."),
    "actor": ("このリンクは別の方宛てです。", "This link was sent to someone else."),
    "state": ("このメールは既に処理されています。", "This message has already been dealt with."),
    "recipients": ("送信する宛先を1つ以上選んでください。", "Choose at least one recipient to send to."),
    "csrf": (
        "フォームの有効期限が切れました。ページを開き直してください。",
        "The form has expired. Please reload the page.",
    ),
    "signin": ("サインインが必要です。", "Please sign in."),
    "reason": ("却下の理由を入力してください。", "Please give a reason for rejecting."),
    "choose": ("メールを1通以上選んでください。", "Choose at least one message."),
    "deputy": ("代理の承認者を選んでください (ご自身以外)。", "Choose a deputy (someone other than you)."),
}

SENDER_ACTIONS = ("confirm", "cancel")
APPROVER_ACTIONS = ("approve", "reject")
ADMIN_ACTIONS = ("release", "reject", "extend")


@dataclass(frozen=True)
class Timing:
    manager_seconds: float
    remind_before: float  # seconds; 0 = no reminder
    retry_seconds: float
    escalate_seconds: float = 0.0  # 0 = never escalate


def _copy(hold: Hold) -> Hold:
    return copy.deepcopy(hold)


def _remind_at(expires_at: float, now: float, timing: Timing) -> float | None:
    if timing.remind_before <= 0:
        return None
    at = expires_at - timing.remind_before
    return at if at > now else None


def _finish(new: Hold, state: HoldState, now: float, timing: Timing) -> None:
    """Into releasing or a final state: the loop settles it if the actor's own settle does not."""
    new.state = state
    new.settled = False
    new.retry_at = now + timing.retry_seconds
    new.updated_at = now


def _release_outcome(hold: Hold) -> str:
    return Outcome.REMOVED.value if hold.removed else Outcome.AS_IS.value


def by_token(
    secret: str,
    scope: Scope,
    action: str,
    now: float,
    timing: Timing,
    *,
    keep: Sequence[str] | None = None,
    comment: str = "",
    signed_in: str | None = None,
    approver_tokens: Sequence[LinkToken] = (),
) -> Decide:
    """Sender (confirm [keeping some recipients], cancel) or approver (approve, reject) through a link.

    `signed_in`: the signed-in user's address when sign-in is required (it must be the token's actor).
    `approver_tokens`: minted by the caller for the approvers, stored when confirm asks for approval.
    """

    def decide(hold: Hold) -> Change:
        token = tokens.match(secret, hold.tokens)
        if token is None:
            raise Refused("token")
        if token.scope is not scope or action not in (SENDER_ACTIONS if scope is Scope.SENDER else APPROVER_ACTIONS):
            raise Refused("scope")
        # The sender may withdraw at any time while the message waits, also after asking for
        # approval with this same link (the link was used for that, not for a final decision).
        withdrawing = scope is Scope.SENDER and action == "cancel" and hold.state is HoldState.HELD_MANAGER
        if token.used_at is not None and not withdrawing:
            raise Refused("used")
        if signed_in is not None and signed_in.lower() != token.actor:
            raise Refused("actor")
        if not hold.state.waiting:
            raise Refused("state")
        if now >= hold.expires_at:
            raise Refused("expired")
        allowed = {HoldState.HELD_SENDER, HoldState.DELAYED} if scope is Scope.SENDER else {HoldState.HELD_MANAGER}
        if hold.state not in allowed and not withdrawing:
            raise Refused("state")
        new = _copy(hold)
        for t in new.tokens:
            if t.digest == token.digest:
                t.used_at = now
        change = Change(new)
        before = hold.state
        if action == "confirm":
            chosen = tuple(r for r in hold.recipients if keep is None or r in set(keep))
            if not chosen or (keep is not None and len(set(keep) - set(hold.recipients)) > 0):
                raise Refused("recipients")
            new.keep = chosen if len(chosen) < len(hold.recipients) else ()
            detail = f"removed {len(new.removed)} recipient(s)" if new.removed else ""
            if hold.needs_approval and hold.state is HoldState.HELD_SENDER:
                new.state = HoldState.HELD_MANAGER
                new.updated_at = now
                new.expires_at = now + timing.manager_seconds
                new.remind_at = _remind_at(new.expires_at, now, timing)
                new.reminded = False
                new.escalate_at = now + timing.escalate_seconds if timing.escalate_seconds else None
                new.escalation = 0
                new.tokens.extend(approver_tokens)
                change.log("confirmed", token.actor, before, detail, now)
            else:
                _finish(new, HoldState.RELEASING, now, timing)
                new.outcome = _release_outcome(new)
                new.decided_by = token.actor
                change.stats[new.outcome] = 1
                change.log("confirmed", token.actor, before, detail, now)
        elif action == "cancel":
            _cancel(new, change, token.actor, before, now, timing)
        elif action == "approve":
            _finish(new, HoldState.RELEASING, now, timing)
            new.outcome = _release_outcome(new)
            new.decided_by = token.actor
            new.comment = comment
            change.stats[new.outcome] = 1
            change.log("approved", token.actor, before, comment, now)
        else:  # reject
            _finish(new, HoldState.REJECTED, now, timing)
            new.outcome = Outcome.REJECTED.value
            new.decided_by = token.actor
            new.comment = comment
            change.stats[new.outcome] = 1
            change.log("rejected", token.actor, before, comment, now)
        return change

    return decide


def _cancel(new: Hold, change: Change, actor: str, before: HoldState, now: float, timing: Timing) -> None:
    _finish(new, HoldState.CANCELLED, now, timing)
    new.outcome = Outcome.CANCELLED.value
    new.decided_by = actor
    change.stats[new.outcome] = 1
    change.log("withdrawn" if before is HoldState.HELD_MANAGER else "cancelled", actor, before, "", now)


def by_sender(actor: str, now: float, timing: Timing) -> Decide:
    """The sender withdraws one of their own waiting messages (from their list of held mail)."""

    def decide(hold: Hold) -> Change:
        if hold.sender != actor.lower():
            raise Refused("actor")
        if not hold.state.waiting:
            raise Refused("state")
        new = _copy(hold)
        change = Change(new)
        _cancel(new, change, hold.sender, hold.state, now, timing)
        return change

    return decide


def by_approver(
    actor: str, action: str, now: float, timing: Timing, *, comment: str = "", acting_for: frozenset[str] = frozenset()
) -> Decide:
    """A signed-in approver acts from their inbox (no link token): only on a hold they are asked to
    decide (an approver, a deputy or the fallback group after escalation), or one asked of an
    approver who is away and named them (`acting_for`), only while it waits."""

    def decide(hold: Hold) -> Change:
        if action not in APPROVER_ACTIONS:
            raise Refused("scope")
        standing_in = sorted(a for a in acting_for if a in hold.approvers)
        if actor.lower() not in hold.approvers and not standing_in:
            raise Refused("actor")
        if hold.state is not HoldState.HELD_MANAGER:
            raise Refused("state")
        if now >= hold.expires_at:
            raise Refused("expired")
        new = _copy(hold)
        change = Change(new)
        new.decided_by = actor.lower()
        new.comment = comment
        if action == "approve":
            _finish(new, HoldState.RELEASING, now, timing)
            new.outcome = _release_outcome(new)
        else:
            _finish(new, HoldState.REJECTED, now, timing)
            new.outcome = Outcome.REJECTED.value
        change.stats[new.outcome] = 1
        detail = comment
        if actor.lower() not in hold.approvers:  # as the deputy of an approver who is away
            detail = f"deputy of {', '.join(standing_in)}" + (f": {comment}" if comment else "")
        change.log("approved" if action == "approve" else "rejected", actor.lower(), hold.state, detail, now)
        return change

    return decide


def by_admin(action: str, admin: str, now: float, timing: Timing, *, comment: str = "", hours: float = 0.0) -> Decide:
    """An admin's release, reject or extend (signed in; no link token)."""
    actor = f"admin:{admin}"

    def decide(hold: Hold) -> Change:
        if action not in ADMIN_ACTIONS:
            raise Refused("scope")
        if not hold.state.waiting:
            raise Refused("state")
        new = _copy(hold)
        change = Change(new)
        before = hold.state
        if action == "release":
            _finish(new, HoldState.RELEASING, now, timing)
            new.outcome = _release_outcome(new)
            new.decided_by = actor
            new.comment = comment
            change.stats[new.outcome] = 1
            change.log("released_by_admin", actor, before, comment, now)
        elif action == "reject":
            _finish(new, HoldState.REJECTED, now, timing)
            new.outcome = Outcome.REJECTED.value
            new.decided_by = actor
            new.comment = comment
            change.stats[new.outcome] = 1
            change.log("rejected", actor, before, comment, now)
        else:
            if not 0 < hours <= 24 * 30:
                raise Refused("scope")
            new.expires_at = max(hold.expires_at, now) + hours * 3600
            new.remind_at = _remind_at(new.expires_at, now, timing)
            new.reminded = False
            new.updated_at = now
            change.log("extended", actor, before, f"{hours:g}h", now)
        return change

    return decide


def by_clock(
    now: float,
    timing: Timing,
    *,
    sender_token: LinkToken | None = None,
    approver_tokens: Sequence[LinkToken] = (),
    escalation: tuple[int, Sequence[str], Sequence[LinkToken]] | None = None,
) -> Decide:
    """Time passing: a delay ends (release), a hold expires (discard, or release for some rules),
    nobody approved in time (escalation: (level, the addresses asked now, their tokens)), or a
    reminder falls due (with fresh link tokens, since only digests of the first ones are kept)."""

    def decide(hold: Hold) -> Change | None:
        if not hold.state.waiting:
            return None
        new = _copy(hold)
        change = Change(new)
        before = hold.state
        if now >= hold.expires_at:
            if hold.state is HoldState.DELAYED or hold.release_on_expiry:
                _finish(new, HoldState.RELEASING, now, timing)
                new.outcome = _release_outcome(new) if hold.state is HoldState.DELAYED else Outcome.EXPIRED.value
                new.decided_by = "system"
                change.stats[new.outcome] = 1
                change.log(
                    "delay_over" if hold.state is HoldState.DELAYED else "expired_released", "system", before, "", now
                )
            else:
                _finish(new, HoldState.EXPIRED, now, timing)
                new.outcome = Outcome.EXPIRED.value
                new.decided_by = "system"
                change.stats[new.outcome] = 1
                change.log("expired", "system", before, "", now)
            return change
        if (
            hold.state is HoldState.HELD_MANAGER
            and hold.escalate_at is not None
            and now >= hold.escalate_at
            and escalation is not None
        ):
            level, asked, fresh = escalation
            new.approvers = tuple(dict.fromkeys((*hold.approvers, *asked)))
            new.escalation = level
            new.escalate_at = now + timing.escalate_seconds if level < 2 and timing.escalate_seconds else None
            new.tokens.extend(fresh)
            new.updated_at = now
            change.log("escalated", "system", before, f"level {level}: {len(asked)} approver(s) asked", now)
            return change
        if hold.state is HoldState.HELD_MANAGER and hold.escalate_at is not None and now >= hold.escalate_at:
            new.escalate_at = None  # nobody left to ask: stop looking
            return change
        if hold.remind_at is not None and not hold.reminded and now >= hold.remind_at:
            if hold.state is HoldState.DELAYED:
                return None
            new.reminded = True
            new.updated_at = now
            if hold.state is HoldState.HELD_SENDER and sender_token is not None:
                new.tokens.append(sender_token)
            if hold.state is HoldState.HELD_MANAGER:
                new.tokens.extend(approver_tokens)
            change.log("reminded", "system", before, "", now)
            return change
        return None

    return decide


def settled(now: float) -> Decide:
    """The queue work of releasing / a final state is done: releasing becomes released."""

    def decide(hold: Hold) -> Change | None:
        if hold.settled or not (hold.state.final or hold.state is HoldState.RELEASING):
            return None
        new = _copy(hold)
        change = Change(new)
        new.settled = True
        new.updated_at = now
        new.previews = []  # the held message has left the hold queue: its previews go with it
        if hold.state is HoldState.RELEASING:
            new.state = HoldState.RELEASED
            change.log("released", "system", hold.state, f"{len(new.keep or new.recipients)} recipient(s)", now)
        return change

    return decide


def delivered(now: float, done: int, failed: int) -> Decide:
    """Delivery finished the released message: released becomes delivered if it reached anyone, else
    delivery_failed (the end of its story either way; the counts are kept on the record)."""

    def decide(hold: Hold) -> Change | None:
        if hold.state is not HoldState.RELEASED:
            return None
        new = _copy(hold)
        new.state = HoldState.DELIVERED if done else HoldState.DELIVERY_FAILED
        new.delivery = {"delivered": done, "failed": failed}
        new.updated_at = now
        change = Change(new)
        event = "delivered" if done else "delivery_failed"
        change.log(event, "system", hold.state, f"{done} delivered, {failed} failed", now)
        return change

    return decide


def retry_later(now: float, timing: Timing) -> Decide:
    def decide(hold: Hold) -> Change | None:
        if hold.settled or not (hold.state.final or hold.state is HoldState.RELEASING):
            return None
        new = _copy(hold)
        new.retry_at = now + timing.retry_seconds
        return Change(new)

    return decide


def replace_tokens(scope: Scope, fresh: Sequence[LinkToken]) -> Decide:
    """New links for a scope (a notice was never sent: a crash between holding and notifying)."""

    def decide(hold: Hold) -> Change | None:
        if not hold.state.waiting:
            return None
        new = _copy(hold)
        new.tokens = [t for t in new.tokens if t.scope is not scope] + list(fresh)
        return Change(new)

    return decide


def mark_notified(hold: Hold) -> Change | None:
    if hold.notified:
        return None
    new = _copy(hold)
    new.notified = True
    return Change(new)


def failed(now: float, error: str, delay: Callable[[int], float]) -> Decide:
    """The hold loop raised on this hold: count it; the loop looks again `delay(failures)` seconds later."""

    def decide(hold: Hold) -> Change | None:
        if hold.state.final and hold.settled:
            return None
        new = _copy(hold)
        new.failures += 1
        new.last_error = error[:500]
        new.retry_at = now + delay(new.failures)
        new.updated_at = now
        return Change(new)

    return decide


def look_again_at(at: float) -> Decide:
    """The loop could not finish with this hold now (its message is still on the way): at `at`."""

    def decide(hold: Hold) -> Change | None:
        if hold.state.final and hold.settled:
            return None
        new = _copy(hold)
        new.retry_at = at
        return Change(new)

    return decide


def shunted(now: float, detail: str) -> Decide:
    """The hold loop gave up on this hold: its message went to the shunt queue for an administrator."""

    def decide(hold: Hold) -> Change | None:
        if hold.state is HoldState.SHUNTED or (hold.state.final and hold.settled):
            return None
        new = _copy(hold)
        change = Change(new)
        new.state = HoldState.SHUNTED
        new.settled = True
        new.updated_at = now
        new.previews = []  # the message is no longer held
        change.log("shunted", "system", hold.state, detail[:500], now)
        return change

    return decide
