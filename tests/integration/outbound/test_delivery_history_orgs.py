"""A delivery-only process records recipient organisations by the site's rules, not the defaults.

Issue: the organisation rules used to be set on the shared history by the pipeline's assessment,
so a node part that only delivers (`gateway deliver`, `relay.processes`) recorded organisation keys
that ignored `recipients.extra_public_suffixes`, and first-time signals then missed what it sent.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.config import Config
from gateway.config.recipients import RecipientsConfig
from gateway.recipients.assess import RecipientContext
from gateway.recipients.history_backends import open_history, open_node_history
from gateway.store import open_store
from tests.integration.outbound.sinkserver import Sink
from tests.integration.outbound.test_outbound_delivery import enqueue, make_config, worker_for

SITE_SUFFIX = "group.example"  # every company under group.example is its own organisation


def site_config(smarthost: str, db: Path) -> Config:
    base = make_config(smarthost).model_dump()
    base["store"] = {"url": f"sqlite:///{db}"}
    base["recipients"] = {"extra_public_suffixes": [SITE_SUFFIX]}
    return Config.model_validate(base)


async def test_delivery_only_process_records_organisations_by_the_site_rules(tmp_path: Path) -> None:
    db = tmp_path / "gateway.db"
    store = open_store(f"sqlite:///{db}")
    async with Sink() as sink:
        config = site_config(f"127.0.0.1:{sink.port}", db)
        history = open_node_history(config.store.url, config.recipients)  # as a deliver-only node opens it
        worker = worker_for(store, config, history=history)
        enqueue(store, ["tanaka@sales.alpha.group.example"])
        assert await worker.run_once() == 1
        await worker.close()
    assert len(sink.messages) == 1
    # The organisation is alpha.group.example (site rule), not group.example (the PSL alone).
    assert history.orgs_seen(["alpha.group.example", "group.example"], 0) == {"alpha.group.example"}
    # And the pipeline's assessment, reading with the same rules, sees it as known.
    ctx = RecipientContext.create(config.recipients, ["example.co.jp"], history=history)
    assert ctx.orgs.of("sales.alpha.group.example") == "alpha.group.example"
    history.close()
    store.close()


def test_assessment_refuses_a_history_opened_with_other_organisation_rules(tmp_path: Path) -> None:
    settings = RecipientsConfig.model_validate({"extra_public_suffixes": [SITE_SUFFIX]})
    history = open_history(f"sqlite:///{tmp_path / 'gateway.db'}")  # default rules: a wiring mistake
    try:
        with pytest.raises(ValueError, match="other organisation rules"):
            RecipientContext.create(settings, ["example.co.jp"], history=history)
    finally:
        history.close()
