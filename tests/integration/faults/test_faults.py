"""The short form of bench/faults.py: a few messages per fault (gateway SIGKILL, Redis killed and
restarted, next hop 4xx / 5xx / hang-up / slow, DNS timeouts); nothing acknowledged may be lost."""

from __future__ import annotations

import os
import shutil

import pytest

from bench.faults import run_faults
from tests.support.needs import require

pytestmark = pytest.mark.slow


def test_no_acknowledged_message_is_lost_under_faults() -> None:
    require(
        None
        if (shutil.which("redis-server") or os.path.exists("/usr/bin/redis-server"))
        and os.path.exists("/usr/sbin/smtp-sink")
        else "needs redis-server and Postfix's smtp-sink (apt-get install redis-server postfix)"
    )
    report = run_faults(per_phase=16, rate=16.0, sessions=4, slow=2.0)
    print(report.table())
    rows = {str(r["phase"]): r for r in report.rows}
    for row in report.rows:
        assert row["not_accepted"] == [], row  # the client retried until every message got its 250
        assert row["lost"] == 0, (row["phase"], row["lost_ids"])
    # Every phase's mail took its way: relayed mail arrived (or bounced when the next hop said 5xx),
    # mail with personal data was held.
    assert rows["normal"]["delivered"], rows["normal"]
    assert sum(int(str(r["held"])) for r in report.rows), report.table()
    assert rows["next hop 5xx"]["bounced"], rows["next hop 5xx"]
    assert "(0 4xx)" not in str(rows["Redis down"]["client retries"]), rows["Redis down"]  # 451 meanwhile
    assert rows["DNS timeouts"]["delivered"], rows["DNS timeouts"]
