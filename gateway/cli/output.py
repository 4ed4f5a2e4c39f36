"""The one way the command line prints a verdict (`gateway check`, `gateway rules test`)."""

from __future__ import annotations

from gateway.verdict import Verdict


def verdict_lines(verdict: Verdict, name: str) -> list[str]:
    """The action, the approvers, every hit with its reason in Japanese and English, every miss."""
    lines = [f"{name}: {verdict.action.value}"]
    if verdict.approvers:
        lines.append(f"  approvers ({verdict.approver_source}): {', '.join(verdict.approvers)}")
    for h in verdict.hits:
        tag = f"{h.action.value}{' (monitor)' if h.mode == 'monitor' else ''}"
        lines += [f"  hit  {h.rule} → {tag}", f"       {h.reason.ja}", f"       {h.reason.en}"]
    for m in verdict.misses:
        lines.append(f"  miss {m.rule}: {m.why}")
    return lines
