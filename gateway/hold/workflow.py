"""The hold workflow: puts held messages on the hold queue, carries out what people and the clock
decide, and moves the message on exactly once.

Order of work, so that a crash anywhere repeats a step instead of losing one:
- hold: record (HoldStore.create) → notify (links) → mark notified → move the message to Queue.HOLD.
  A re-run finds the record; if the notice was not marked sent, it mints new links and sends again.
- act / admin / clock: one atomic update of the record (the compare-and-set on its state) decides;
  only the winner of `→ releasing` may move the message, and it does so under a claim of that one
  message on Queue.HOLD (`Store.claim_message`), so two clicks, two approvers or two nodes never
  send twice: the move takes the message off the hold queue, and a second claim finds nothing.
- settle: the queue work of releasing and final states (move to outbound / remove), then the result
  notice, then `settled`. The hold loop retries unsettled holds after `hold.retry_seconds`.
- failure: an exception while the loop works on a hold counts on the hold (`failures`, one log line
  each) and the loop looks again after a doubling wait; at `worker.max_failures` the held message goes
  to the shunt queue with the error, the hold becomes `shunted`, and the sender is told that an
  administrator must act. No hold is retried forever.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import replace

from gateway.config import Config, HoldConfig
from gateway.hold import tokens
from gateway.hold import transitions as tr
from gateway.hold.details import details_of
from gateway.hold.model import AuditEntry, Change, Hold, HoldState, LinkToken, Scope
from gateway.hold.notify import NoticeSettings, Notifier
from gateway.hold.store import HoldStore
from gateway.logsetup import describe_error, mask_address
from gateway.mail.bcc import rewrite_to_bcc
from gateway.store.base import DispositionLost, Lease, Queue, Store
from gateway.verdict import Action, Verdict

log = logging.getLogger(__name__)

FAR_FUTURE = 2**40  # held messages are never due on the hold queue: only claim_message takes them
Refused = tr.Refused


def when(t: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M %Z", time.localtime(t))


class HoldWorkflow:
    def __init__(
        self,
        store: Store,
        holds: HoldStore,
        settings: HoldConfig,
        notifier: Notifier,
        *,
        lease_seconds: float,
        clock: Callable[[], float] = time.time,
        max_failures: int = 5,
        failure_delay: Callable[[int], float] = lambda failures: 30.0 * 2 ** min(failures - 1, 7),
        admins: Sequence[str] = (),
    ) -> None:
        self.store = store
        self.max_failures = max_failures  # the loop failing on a hold this often: it is shunted
        self.failure_delay = failure_delay
        self.holds = holds
        self.settings = settings
        self.notifier = notifier
        self.clock = clock
        h = settings
        self.timing = tr.Timing(
            h.manager_hours * 3600, h.remind_before_minutes * 60, h.retry_seconds, h.escalate_after_hours * 3600
        )
        self.lease_seconds = lease_seconds
        # Who approves when the directory names nobody: the admins' addresses (users file, role admin).
        self.admins = tuple(dict.fromkeys(a.lower() for a in admins if a))

    @classmethod
    def from_config(
        cls,
        store: Store,
        holds: HoldStore,
        config: Config,
        *,
        clock: Callable[[], float] = time.time,
        admins: Sequence[str] = (),
    ) -> HoldWorkflow:
        """The workflow as a node builds it (its own sections of config.yaml, and a Notifier)."""
        notifier = Notifier(store, NoticeSettings.of(config))
        return cls(
            store,
            holds,
            config.hold,
            notifier,
            lease_seconds=config.worker.lease_seconds,
            clock=clock,
            max_failures=config.worker.max_failures,
            failure_delay=config.worker.failure_delay,
            admins=admins,
        )

    # -- from the pipeline -------------------------------------------------------------------------

    async def hold(self, lease: Lease, verdict: Verdict, raw: bytes) -> Hold:
        """Hold a claimed inbound message (hold_sender, hold_manager, delay). Returns its record."""
        message = lease.message
        now = self.clock()
        hold = await asyncio.to_thread(self.holds.get, message.id)
        secret: str | None = None
        if hold is None:
            secret, token = tokens.mint(Scope.SENDER, message.envelope.mail_from)
            away = await self.away() if verdict.action is Action.HOLD_MANAGER else {}
            hold = self._new_hold(
                message.id, message.envelope.mail_from, message.envelope.rcpt_tos, verdict, raw, now, away
            )
            hold.tokens.append(token)
            entry = AuditEntry(hold.id, now, "held", "system", "", hold.state.value, f"rule {hold.rule}")
            if hold.approver_source == "admins":
                entry = replace(entry, detail=f"{entry.detail}; no approver configured: asked the admins")
                log.warning(
                    "hold %s: rule %s needs approval but no approver is configured for this sender "
                    "(directory, policy.fallback_group): %d admin(s) of the users file will be asked",
                    hold.id, hold.rule, len(hold.approvers),
                )  # fmt: skip
            elif hold.approver_source == "none":
                entry = replace(entry, detail=f"{entry.detail}; no approver and no admin address configured")
                log.warning(
                    "hold %s: rule %s needs approval but nobody is configured to approve (no directory "
                    "entry, no policy.fallback_group, no admin with an email in web.users_file): only an "
                    "admin in the admin queue can release it before it expires",
                    hold.id, hold.rule,
                )  # fmt: skip
            if not await asyncio.to_thread(self.holds.create, hold, entry):
                hold = await asyncio.to_thread(self.holds.get, message.id)
                assert hold is not None
                secret = None
        if not hold.notified and hold.state.waiting:
            if secret is None:
                secret, token = tokens.mint(Scope.SENDER, hold.sender)
                await asyncio.to_thread(self.holds.update, hold.id, tr.replace_tokens(Scope.SENDER, [token]))
            await self._notify_sender(hold, secret)
            await asyncio.to_thread(self.holds.update, hold.id, tr.mark_notified)
        message.pending = message.envelope.rcpt_tos
        if not await asyncio.to_thread(self.store.move, lease, Queue.HOLD, message, due_at=FAR_FUTURE):
            raise DispositionLost(message.id)
        log.info("held %s: %s by rule %s", hold.id, hold.state, hold.rule)
        return hold

    def _new_hold(
        self,
        message_id: str,
        sender: str,
        rcpts: Sequence[str],
        verdict: Verdict,
        raw: bytes,
        now: float,
        away: dict[str, list[str]] | None = None,
    ) -> Hold:
        h = self.settings
        rules = tuple(hit.rule for hit in verdict.hits if hit.mode != "monitor" and hit.action is verdict.action)
        rules = rules or tuple(r.rule for r in verdict.reasons) or ("-",)
        if verdict.action is Action.DELAY:
            state, expires = HoldState.DELAYED, now + (verdict.delay_minutes or 0) * 60
        else:
            state, expires = HoldState.HELD_SENDER, now + h.sender_hours * 3600
        remind_before = self.timing.remind_before
        needs_approval = verdict.action is Action.HOLD_MANAGER
        approvers = self._with_deputies(verdict.approvers, away or {})
        source = ""
        if needs_approval and not approvers:  # nobody to approve never means silence
            approvers = tuple(a for a in self.admins if a != sender.lower())
            source = "admins" if approvers else "none"
        return Hold(
            id=message_id,
            state=state,
            action=verdict.action.value,
            sender=sender.lower(),
            recipients=tuple(rcpts),
            rules=rules,
            created_at=now,
            updated_at=now,
            expires_at=expires,
            needs_approval=needs_approval,
            approvers=approvers,
            approver_source=source,
            language=self.notifier.language(sender),
            remind_at=(expires - remind_before) if remind_before and expires - remind_before > now else None,
            release_on_expiry=h.on_expiry == "release" or bool(set(rules) & set(h.release_on_expiry_rules)),
            details=details_of(verdict, raw),
            previews=list(verdict.previews),
        )

    # -- people ------------------------------------------------------------------------------------

    async def act(
        self,
        hold_id: str,
        secret: str,
        scope: Scope,
        action: str,
        *,
        keep: Sequence[str] | None = None,
        comment: str = "",
        signed_in: str | None = None,
    ) -> Change:
        """A sender's or approver's action through their link. Raises Refused (nothing changed)."""
        now = self.clock()
        current = await asyncio.to_thread(self.holds.get, hold_id)
        if current is None:
            raise Refused("token")
        fresh: list[tuple[str, str, LinkToken]] = []
        if scope is Scope.SENDER and action == "confirm" and current.needs_approval:
            for approver in current.approvers:
                s, t = tokens.mint(Scope.APPROVER, approver)
                fresh.append((approver, s, t))
        decide = tr.by_token(
            secret,
            scope,
            action,
            now,
            self.timing,
            keep=keep,
            comment=comment[:1000],
            signed_in=signed_in,
            approver_tokens=[t for _, _, t in fresh],
        )
        change = await asyncio.to_thread(self.holds.update, hold_id, decide)
        assert change is not None  # by_token never returns None: it raises Refused
        log.info("hold %s: %s by %s link -> %s", hold_id, action, scope, change.hold.state)
        await self._after(change, fresh)
        return change

    async def withdraw(self, hold_id: str, sender: str) -> Change:
        """The sender withdraws a waiting message from their list of held mail. Raises Refused."""
        change = await asyncio.to_thread(self.holds.update, hold_id, tr.by_sender(sender, self.clock(), self.timing))
        if change is None:
            raise Refused("token")
        log.info("hold %s: withdrawn by its sender -> %s", hold_id, change.hold.state)
        await self._after(change, [])
        return change

    async def admin(self, hold_id: str, action: str, admin: str, *, comment: str = "", hours: float = 0.0) -> Change:
        decide = tr.by_admin(action, admin, self.clock(), self.timing, comment=comment[:1000], hours=hours)
        change = await asyncio.to_thread(self.holds.update, hold_id, decide)
        if change is None:
            raise Refused("token")
        log.info("hold %s: %s by an admin -> %s", hold_id, action, change.hold.state)
        await self._after(change, [])
        return change

    async def _after(self, change: Change, fresh: list[tuple[str, str, LinkToken]]) -> None:
        hold = change.hold
        if hold.state is HoldState.HELD_MANAGER:
            for approver, secret, _ in fresh:
                await self._notify_approver(hold, approver, secret, "approval")
        elif hold.state is HoldState.RELEASING or hold.state.final:
            await self.settle(hold.id)

    # -- moving the message on ---------------------------------------------------------------------

    async def settle(self, hold_id: str) -> Hold | None:
        """Do the queue work of a releasing or final hold, once. Returns the hold if it is settled."""
        hold = await asyncio.to_thread(self.holds.get, hold_id)
        if hold is None or hold.settled or not (hold.state is HoldState.RELEASING or hold.state.final):
            return hold
        now = self.clock()
        lease = await asyncio.to_thread(self.store.claim_message, Queue.HOLD, hold.id, self.lease_seconds)
        if lease is None:
            where = await asyncio.to_thread(self.store.get, hold.id)
            if where is not None and where[0] in (Queue.INBOUND, Queue.HOLD, Queue.SHUNT):
                # Not on the hold queue yet (the pipeline is still moving it), another node holds
                # the claim, or it is on the shunt queue until a human retries it: look again later.
                await asyncio.to_thread(self.holds.update, hold.id, tr.retry_later(now, self.timing))
                return None
            # Already moved on (or delivered and gone): a previous settle did the queue work.
        elif hold.state is HoldState.RELEASING:
            message = lease.message
            keep = hold.keep or hold.recipients
            message.pending = tuple(keep)
            message.released = True
            raw = None
            if hold.removed:
                try:
                    raw = rewrite_to_bcc(await asyncio.to_thread(self.store.raw, hold.id), set(hold.removed))
                except BaseException:  # give the claim back: the next look (or the shunt) needs it
                    await asyncio.to_thread(self.store.release, lease)
                    raise
            if not await asyncio.to_thread(self.store.move, lease, Queue.OUTBOUND, message, raw=raw):
                await asyncio.to_thread(self.holds.update, hold.id, tr.retry_later(now, self.timing))
                return None
            log.info("hold %s: released to %d recipient(s)", hold.id, len(keep))
        elif not await asyncio.to_thread(self.store.finish, lease):
            await asyncio.to_thread(self.holds.update, hold.id, tr.retry_later(now, self.timing))
            return None
        await self._notify_result(hold)
        change = await asyncio.to_thread(self.holds.update, hold.id, tr.settled(self.clock()))
        return change.hold if change is not None else await asyncio.to_thread(self.holds.get, hold.id)

    # -- the clock ---------------------------------------------------------------------------------

    async def tick(self, now: float | None = None) -> int:
        """One look at every hold whose time has come. Returns how many were looked at."""
        now = self.clock() if now is None else now
        due = await asyncio.to_thread(self.holds.due, now)
        for hold in due:
            try:
                await self._tick_one(hold, now)
            except Exception as e:
                await self._failed(hold, e, now)
        return len(due)

    async def _failed(self, hold: Hold, error: Exception, now: float) -> None:
        """Count the failure on the hold; at the limit, shunt its message for an administrator."""
        reason = describe_error(error)
        change = await asyncio.to_thread(self.holds.update, hold.id, tr.failed(now, reason, self.failure_delay))
        if change is None:
            return
        n, limit = change.hold.failures, self.max_failures
        if n < limit:
            delay = change.hold.retry_at - now
            log.error(
                "hold loop: %s failed (failure %d of %d), retry in %.0f s: %s",
                hold.id,
                n,
                limit,
                delay,
                reason,
                exc_info=error,
            )
            return
        log.error(
            "hold loop: %s failed (failure %d of %d), shunted for an administrator: %s",
            hold.id,
            n,
            limit,
            reason,
            exc_info=error,
        )
        await self._shunt(change.hold, f"hold loop failed {n} times: {reason}", now)

    async def _shunt(self, hold: Hold, reason: str, now: float) -> None:
        lease = await asyncio.to_thread(self.store.claim_message, Queue.HOLD, hold.id, self.lease_seconds)
        if lease is None:
            where = await asyncio.to_thread(self.store.get, hold.id)
            if where is not None and where[0] in (Queue.INBOUND, Queue.HOLD):
                # Still being moved onto the hold queue, or claimed by someone else: next round.
                await asyncio.to_thread(self.holds.update, hold.id, tr.look_again_at(now + self.timing.retry_seconds))
                return
        message, raw = None, None
        if lease is not None:
            message = lease.message
            message.shunt_reason = reason[:500]
            message.last_error = hold.last_error
            message.failures = hold.failures
            try:
                raw = await asyncio.to_thread(self.store.raw, hold.id)
            except KeyError:
                raw = None
            if not await asyncio.to_thread(self.store.move, lease, Queue.SHUNT, message):
                return  # taken over meanwhile: the next round sees where it is
        # Else the message has moved on already (released, delivered): only the record stops here.
        await asyncio.to_thread(self.holds.update, hold.id, tr.shunted(now, reason))
        if message is None:
            return
        try:
            await self.notifier.shunted(message, raw)
        except Exception as e:  # the admin sees it on the shunt queue and the hold page
            log.error("hold loop: %s shunted; the sender's notice failed: %s", hold.id, describe_error(e))

    async def _tick_one(self, hold: Hold, now: float) -> None:
        if hold.state is HoldState.RELEASING or hold.state.final:
            await self.settle(hold.id)
            return
        sender_secret = sender_token = None
        fresh: list[tuple[str, str, LinkToken]] = []
        reminding = now < hold.expires_at and hold.remind_at is not None and not hold.reminded
        if reminding and hold.state is HoldState.HELD_SENDER:
            sender_secret, sender_token = tokens.mint(Scope.SENDER, hold.sender)
        if reminding and hold.state is HoldState.HELD_MANAGER:
            for approver in hold.approvers:
                s, t = tokens.mint(Scope.APPROVER, approver)
                fresh.append((approver, s, t))
        escalating = None
        if hold.state is HoldState.HELD_MANAGER and hold.escalate_at is not None and now >= hold.escalate_at:
            escalating = self._escalation(hold, now, await asyncio.to_thread(self.holds.away))
        decide = tr.by_clock(
            now,
            self.timing,
            sender_token=sender_token,
            approver_tokens=[t for _, _, t in fresh],
            escalation=(escalating[0], [a for a, _, _ in escalating[1]], [t for _, _, t in escalating[1]])
            if escalating
            else None,
        )
        change = await asyncio.to_thread(self.holds.update, hold.id, decide)
        if change is None:
            return
        new = change.hold
        if new.state is HoldState.RELEASING or new.state.final:
            log.info("hold %s: %s", new.id, change.audit[-1].event if change.audit else new.state)
            await self.settle(new.id)
        elif escalating and new.escalation > hold.escalation:
            for approver, secret, _ in escalating[1]:
                await self._send_link(new, approver, secret, "approval", approver=approver, escalated=True)
        elif new.reminded and not hold.reminded:
            if sender_secret is not None:
                await self._send_link(new, new.sender, sender_secret, "reminder", role="sender")
            for approver, secret, _ in fresh:
                await self._send_link(new, approver, secret, "reminder", role="approver")

    def _with_deputies(self, approvers: Sequence[str], away: dict[str, list[str]]) -> tuple[str, ...]:
        """The verdict's approvers, and the deputies of those who are away from the start."""
        out = [a.lower() for a in approvers]
        for a in list(out):
            out += away.get(a, [])
        return tuple(dict.fromkeys(out))

    async def away(self) -> dict[str, list[str]]:
        """Approvers who are away -> who decides for them: `hold.away` (with their `hold.deputies`)
        and those who said so on their inbox page (with the deputy they chose)."""
        h = self.settings
        out: dict[str, list[str]] = {a.lower(): [d.lower() for d in h.deputies.get(a, [])] for a in h.away}
        for approver, deputy in (await asyncio.to_thread(self.holds.away)).items():
            out.setdefault(approver, [])
            if deputy not in out[approver]:
                out[approver].append(deputy)
        return out

    async def acting_for(self, deputy: str) -> frozenset[str]:
        """The approvers who are away and named `deputy` to decide for them."""
        deputy = deputy.lower()
        return frozenset(a for a, deputies in (await self.away()).items() if deputy in deputies)

    async def set_away(self, approver: str, deputy: str | None) -> None:
        """An approver is away from now on (`deputy` decides for them) or back (None). Raises Refused
        when they name themselves. Holds already waiting for them are the deputy's to decide from
        the deputy's inbox at once; new ones also send the deputy an approval notice."""
        if deputy is not None and deputy.lower() == approver.lower():
            raise Refused("deputy")
        await asyncio.to_thread(self.holds.set_away, approver, deputy)
        log.info("approver %s is %s", mask_address(approver.lower()), "away" if deputy is not None else "back")

    def _escalation(
        self, hold: Hold, now: float, chosen: dict[str, str] | None = None
    ) -> tuple[int, list[tuple[str, str, LinkToken]]] | None:
        """Who is asked next when nobody approved in time: the approvers' deputies, then the fallback
        group (with fresh links). None when it is not time, or nobody is left to ask."""
        if hold.state is not HoldState.HELD_MANAGER or hold.escalate_at is None or now < hold.escalate_at:
            return None
        if now >= hold.expires_at:
            return None
        h = self.settings
        level, asked = hold.escalation, set(hold.approvers)
        while level < 2:
            level += 1
            if level == 1:  # hold.deputies, and the deputy an away approver chose on their inbox page
                people = [d.lower() for a in hold.approvers for d in h.deputies.get(a, [])]
                people += [(chosen or {})[a] for a in hold.approvers if a in (chosen or {})]
            else:
                people = [a.lower() for a in h.fallback_approvers]
            new = list(dict.fromkeys(p for p in people if p not in asked))
            if new:
                return level, [(p, *tokens.mint(Scope.APPROVER, p)) for p in new]
        return None

    async def approve_signed_in(self, hold_id: str, actor: str, action: str, comment: str = "") -> Change:
        """An approver's approve or reject from their inbox (signed in). Raises Refused."""
        acting_for = await self.acting_for(actor)
        decide = tr.by_approver(actor, action, self.clock(), self.timing, comment=comment[:1000], acting_for=acting_for)
        change = await asyncio.to_thread(self.holds.update, hold_id, decide)
        if change is None:
            raise Refused("token")
        log.info("hold %s: %s from the inbox -> %s", hold_id, action, change.hold.state)
        await self._after(change, [])
        return change

    async def run(self, stop: asyncio.Event) -> None:
        """The hold loop: expiry, reminders, delay release, and settling what a crash left half done."""
        while not stop.is_set():
            try:
                await self.tick()
            except Exception as e:  # the store is down: try again next round
                log.warning("hold loop: %s", type(e).__name__)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.settings.loop_interval)

    # -- notices -----------------------------------------------------------------------------------

    async def _notify_sender(self, hold: Hold, secret: str) -> None:
        if hold.state is HoldState.DELAYED:
            minutes = max(1, round((hold.expires_at - hold.created_at) / 60))
            await self._send_link(hold, hold.sender, secret, "delayed", minutes=minutes)
        else:
            await self._send_link(hold, hold.sender, secret, "held")

    async def _notify_approver(self, hold: Hold, approver: str, secret: str, kind: str) -> None:
        await self._send_link(hold, approver, secret, kind, approver=approver)

    async def _send_link(self, hold: Hold, to: str, secret: str, kind: str, **extra: object) -> None:
        if not to:
            return
        await self.notifier.send(
            kind,
            to,
            hold=hold,
            details=hold.details,
            removed=hold.removed,
            link=self.notifier.link(hold.id, secret),
            expires=when(hold.expires_at),
            **extra,
        )

    async def _notify_result(self, hold: Hold) -> None:
        """The sender hears how it ended, unless they decided it themselves (confirm or cancel)."""
        if not hold.sender or hold.decided_by == hold.sender:
            return
        if hold.state is HoldState.RELEASING:
            result = "released"
        elif hold.state is HoldState.EXPIRED:
            result = "expired"
        elif hold.state is HoldState.REJECTED:
            result = "rejected"
        else:
            result = "cancelled"
        by = "" if hold.decided_by == "system" else hold.decided_by.removeprefix("admin:")
        if hold.decided_by.startswith("admin:"):
            by = "管理者 / administrator"
        await self.notifier.send(
            "result",
            hold.sender,
            hold=hold,
            details=hold.details,
            removed=hold.removed,
            result=result,
            comment=hold.comment,
            by=by,
        )
