"""Rules that admins can read, test and tune: facts → conditions → one action with its reasons.

    holder = PolicyHolder(config.policy)           # loads rules/, rules/local.d/, the directory
    verdict = holder.current.decide(envelope, facts)
    holder.reload()                                # on SIGHUP; keeps the old rules if the new are broken

See docs/policy.md for the fact namespace, the operators and the default rules. Names load lazily:
gateway.config imports gateway.config.policy, and the policy itself needs the config.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Policy", "PolicyError", "PolicyHolder", "PolicySettings"]

_WHERE = {
    "Policy": "gateway.policy.policy",
    "PolicyError": "gateway.policy.errors",
    "PolicyHolder": "gateway.policy.holder",
    "PolicySettings": "gateway.config.policy",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        import importlib

        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(name)
