"""Prometheus metrics of a node (served at /metrics by gateway/web). Queue sizes and hold states are
read from the stores when scraped (a collector), everything else is counted where it happens."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

MESSAGES = Counter("gateway_messages_total", "Messages disposed, by action", ["action"])
HOLDS = Counter("gateway_holds_total", "Messages held, by rule", ["rule"])
SCAN_SECONDS = Histogram(
    "gateway_scan_seconds",
    "Time to inspect and decide one message (extraction, scan, recipients, rules)",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
DELIVERY_SECONDS = Histogram(
    "gateway_delivery_seconds",
    "Time from receipt to a message's last delivery attempt (hold time included)",
    buckets=(0.5, 1, 5, 30, 60, 300, 1800, 3600, 21600, 86400),
)


class StoreCollector(Collector):
    """Queue sizes and hold states at scrape time."""

    def __init__(self, store: object, holds: object) -> None:
        self.store = store
        self.holds = holds

    def collect(self) -> Iterator[GaugeMetricFamily]:
        queues = GaugeMetricFamily("gateway_queue_messages", "Messages on each queue", labels=["queue"])
        try:
            for queue, n in self.store.counts().items():  # type: ignore[attr-defined]
                queues.add_metric([str(queue)], n)
        except Exception:  # a scrape must not fail because the store hiccups
            pass
        yield queues
        states = GaugeMetricFamily("gateway_holds", "Holds in each state", labels=["state"])
        try:
            for state, n in self.holds.counts().items():  # type: ignore[attr-defined]
                states.add_metric([state], n)
        except Exception:
            pass
        yield states


def registry() -> CollectorRegistry:
    return REGISTRY
