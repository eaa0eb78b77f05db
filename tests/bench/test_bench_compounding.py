"""The compounding throughput benchmark runs end to end with a tiny N and reports what it should.

A smoke test, not a timed test: it checks the report's structure and that the figures are
positive, never how fast anything is.
"""

from __future__ import annotations

import argparse
import json

import pytest

from openinfusion.bench import compounding
from openinfusion.commands import bench


@pytest.mark.django_db
def test_the_benchmark_carries_every_order_to_an_approved_label_and_reports_path_and_floor():
    report = compounding.run(2)

    assert report["preparations"] == 2 and report["vendor"] in ("sqlite", "postgresql")
    path, floor = report["result"], report["baseline"]
    for summary in (path, floor):
        assert summary["preparations_per_minute"] > 0 and summary["seconds"] > 0
        assert 0 < summary["per_preparation_ms"]["p50"] <= summary["per_preparation_ms"]["p95"]
        assert summary["per_preparation_ms"]["p95"] <= summary["per_preparation_ms"]["p99"]
        assert summary["queries_per_preparation"] > 0
    # The floor writes exactly what the path wrote: same audit events, movements and transactions.
    for key in ("audit_events_per_preparation", "ledger_movements_per_preparation", "transactions_per_preparation"):
        assert floor[key] == path[key] > 0
    assert report["overhead_factor"] > 0
    assert {
        "plan",
        "start",
        "scan_vial",
        "weigh_draw",
        "scan_bag",
        "weigh_bag",
        "complete",
        "final_check",
        "label",
    } <= set(report["steps_ms"])
    assert all(step["count"] > 0 and step["p50"] > 0 for step in report["steps_ms"].values())
    assert "26796911" in report["human_anchor"]["citation"]
    text = compounding.as_text(report)
    assert "preparations / minute" in text and "floor" in text and "Reece et al." in text
    json.dumps(report)  # --json prints it as is


@pytest.mark.django_db
def test_the_command_refuses_a_database_with_real_data_unless_forced(capsys, site):
    parser = argparse.ArgumentParser()
    bench.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["bench", "compounding", "--preparations", "1", "--json"])

    assert args.handler(args) == 2
    error = json.loads(capsys.readouterr().out)["error"]
    assert error["code"] == "DATABASE_NOT_EMPTY" and "--force" in error["message"]
    compounding.refuse_real_data(force=True)  # --force lets it through
