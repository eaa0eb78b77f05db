"""The load benchmark runs end to end at a tiny scale and reports what it should.

A smoke test, not a timed test: it runs ``openinfusion bench load`` as its own process (the
server it starts and the locust driver are processes too) on SQLite in a fresh data directory,
and checks that the history's audit chain verified intact, that every screen got requests with no
server error, and that the JSON has its fields, never how fast anything is. The command runs on
the machine's clock from start to end (builder, server and driver alike), so the suite's travelled
clock does not matter to it, and nothing here reads the date.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from openinfusion.bench.load import SCREEN_ORDER


def _bench_load(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OPENINFUSION_DATA_DIR": str(data_dir), "OPENINFUSION_DATABASE_URL": ""}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return subprocess.run(
        [sys.executable, "-m", "openinfusion.cli", "bench", "load", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_the_load_benchmark_builds_a_chained_history_times_every_screen_beside_its_query_and_refuses_a_rerun(tmp_path):
    done = _bench_load(
        tmp_path, "--scale", "0.002", "--duration", "6", "--rate", "6", "--users", "5", "--repeat", "5", "--json"
    )

    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)
    assert report["chain"]["intact"] is True and report["chain"]["count"] >= 2000
    assert report["history"]["size"]["audit_events"] == 2000 and report["history"]["size"]["patients"] == 6
    assert "audit events" in done.stderr  # progress per phase on stderr
    assert [s["screen"] for s in report["screens"]] == list(SCREEN_ORDER)
    for screen in report["screens"]:
        assert screen["requests"] > 0, screen
        assert screen["server_errors"] == 0 and screen["errors"] == 0, screen
        assert set(screen["load_ms"]) == {"p50", "p95", "p99"} and set(screen["plain_ms"]) == {"p50", "p95"}
        assert screen["plain_ms"]["p50"] > 0 and screen["goal_p95_ms"] in (150.0, 300.0)
        assert isinstance(screen["goal_met"], bool)
    assert report["server_errors"] == 0 and report["sign_in"]["errors"] == 0
    for key in ("vendor", "scale", "seed", "load", "goal", "all_goals_met", "machine", "history"):
        assert key in report
    replan = report["writes_during_replan"]  # a booking re-planned while weights were recorded
    assert replan["booking"]["outcome"] == "booked" and replan["writes"] >= 1, replan
    assert replan["write_ms"]["max"] >= replan["write_ms"]["p50"] > 0 and isinstance(replan["goal_met"], bool)

    # The history is in now: a second run refuses the database unless --reuse.
    again = _bench_load(tmp_path, "--scale", "0.002", "--json")
    assert again.returncode == 2
    error = json.loads(again.stdout)["error"]
    assert error["code"] == "DATABASE_NOT_EMPTY" and "--reuse" in error["message"]
