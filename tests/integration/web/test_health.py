"""/healthz answers from the store: 200 while it answers, 503 when it does not (load balancers)."""

from __future__ import annotations

from pathlib import Path

import httpx

from gateway.config import Config
from gateway.hold.backends import open_holds
from gateway.hold.workflow import HoldWorkflow
from gateway.store import open_store
from gateway.web.app import create_app


async def test_healthz_follows_the_store(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'gateway.db'}"
    config = Config.model_validate({"store": {"url": url}})
    store, holds = open_store(url), open_holds(url)
    app = create_app(config, store, holds, HoldWorkflow.from_config(store, holds, config))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw.test") as client:
        ok = await client.get("/healthz")
        assert (ok.status_code, ok.text) == (200, "ok")
        store.close()  # the store is gone: the node must say so
        down = await client.get("/healthz")
        assert down.status_code == 503
        assert down.text.startswith("store unavailable")
    holds.close()
