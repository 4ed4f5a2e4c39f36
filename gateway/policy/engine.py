"""Walk the rules over one message's facts (after Mailman's chain walker): every rule is a hit or a
miss; the strongest enforced hit decides; monitor hits are recorded and never acted on."""

from __future__ import annotations

from dataclasses import dataclass, field

from gateway.policy.facts import DISPLAY, FactSet, render_value
from gateway.policy.rules import PLACEHOLDER, Rule
from gateway.verdict import Action, Reason, RuleHit, RuleMiss

NO_RULE = Reason(
    rule="default_relay",
    en="No rule matched: the message is relayed.",
    ja="該当するルールがないため、そのまま送信します。",
)


@dataclass
class Outcome:
    action: Action = Action.RELAY
    hits: list[RuleHit] = field(default_factory=list)  # strongest first; monitor hits after enforced ones
    misses: list[RuleMiss] = field(default_factory=list)
    minutes: int | None = None

    @property
    def enforced(self) -> list[RuleHit]:
        return [h for h in self.hits if h.mode == "enforce"]

    @property
    def reasons(self) -> list[Reason]:
        return [h.reason for h in self.enforced] or [NO_RULE]


def render(template: str, fs: FactSet, lang: str) -> str:
    def value(m: object) -> str:
        name = m.group(1)  # type: ignore[attr-defined]
        if name in DISPLAY:
            return DISPLAY[name][0](fs, lang)
        return render_value(fs.values.get(name, ""), lang)

    return PLACEHOLDER.sub(value, template)


def _hit(rule: Rule, fs: FactSet) -> RuleHit:
    reason = Reason(rule.name, en=render(rule.reason_en, fs, "en"), ja=render(rule.reason_ja, fs, "ja"))
    seen = {f: fs.values.get(f) for f in dict.fromkeys(rule.condition.facts())}
    shown = {k: (list(v) if isinstance(v, tuple) else v) for k, v in seen.items() if k != "body"}
    return RuleHit(rule.name, rule.action, reason, rule.mode, rule.minutes, shown)


def evaluate(rules: list[Rule], fs: FactSet, explain: bool = False) -> Outcome:
    """Hits and misses of every rule; `explain` also says why each miss missed (for people)."""
    out = Outcome()
    hits: list[tuple[Rule, RuleHit]] = []
    for rule in rules:
        if explain:
            ok, why = rule.condition.explain(fs)
        else:
            ok, why = rule.condition.test(fs), ""
        if ok:
            hits.append((rule, _hit(rule, fs)))
        else:
            out.misses.append(RuleMiss(rule.name, why))
    hits.sort(key=lambda rh: (rh[0].monitor, -rh[0].action.strength))  # stable: file order within a strength
    out.hits = [h for _, h in hits]
    enforced = [r for r, _ in hits if not r.monitor]
    if enforced:
        out.action = enforced[0].action
        if out.action is Action.DELAY:
            out.minutes = max(r.minutes or 0 for r in enforced if r.action is Action.DELAY)
    return out
