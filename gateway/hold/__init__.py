"""Held mail: the state machine (model), its store (HoldStore), link tokens, and the workflow that
carries out confirm / approve / cancel / expire on the queue store (see docs/hold.md)."""
