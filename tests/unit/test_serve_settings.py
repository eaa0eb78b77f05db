"""One slow request must not stall the server: threaded workers, more than one per core."""

from __future__ import annotations

import os

from openinfusion.cli import build_parser
from openinfusion.commands.server import gunicorn_settings


def test_serve_defaults_to_threaded_workers_sized_for_the_machine():
    settings = gunicorn_settings(build_parser().parse_args(["serve"]))
    assert settings["worker_class"] == "gthread" and settings["threads"] >= 2
    assert settings["workers"] == min(2 * (os.cpu_count() or 1) + 1, 9)
    assert settings["bind"] == "127.0.0.1:8000"


def test_serve_takes_workers_and_threads_from_the_command_line():
    args = build_parser().parse_args(["serve", "--workers", "3", "--threads", "8", "--port", "9000"])
    settings = gunicorn_settings(args)
    assert (settings["workers"], settings["threads"], settings["bind"]) == (3, 8, "127.0.0.1:9000")
