"""The load driver of ``openinfusion bench load``: locust, headless, as a library.

Run by ``bench/load.py`` as its own process (``python -m openinfusion.bench.loadgen CONFIG.json``)
because importing locust monkey-patches the standard library with gevent, which must happen before
anything else is imported and must not happen inside the bench's Django process. It imports no
Django. It reads a JSON config (host, rate, duration, users, password, patients), drives the server
and writes each request's response time, status and error into the config's ``out`` file.

Each simulated person signs in once (GET /login/ for the CSRF cookie, POST the form), then goes
round their role's screens in order, one request at a time; ``constant_throughput`` paces every
person at ``rate / users`` requests a second, so the whole swarm offers ``rate``.
"""

from __future__ import annotations

import gevent.monkey

gevent.monkey.patch_all()

import itertools  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections import defaultdict  # noqa: E402
from typing import Any  # noqa: E402
from urllib.parse import urlparse  # noqa: E402

import gevent  # noqa: E402
from locust import HttpUser, constant_throughput, events, task  # noqa: E402
from locust.env import Environment  # noqa: E402

ROLES = ("pharmacist", "technician", "nurse", "scheduler", "quality")
SCREENS: dict[str, tuple[tuple[str, str, str], ...]] = {
    # role: (screen name, method, path); {patient} is filled in per request.
    "pharmacist": (
        ("verification queue", "GET", "/orders/verify/"),
        ("API verification queue", "GET", "/api/v1/verification-queue"),
    ),
    "technician": (
        ("compounding queue", "GET", "/compounding/"),
        ("API work queue", "GET", "/api/v1/compounding/work-queue"),
    ),
    "nurse": (
        ("chair board", "GET", "/administration/"),
        ("patient chart", "GET", "/patients/{patient}/"),
        ("record measurement (API)", "POST", "/api/v1/patients/{patient}/measurements"),
    ),
    "scheduler": (("scheduler board", "GET", "/schedule/"),),
    "quality": (("audit report", "GET", "/audit/"),),
}


def run(config: dict[str, Any]) -> dict[str, Any]:
    host = config["host"]
    if urlparse(host).hostname != "127.0.0.1":
        raise SystemExit("the load driver only talks to 127.0.0.1")
    samples: dict[str, list[tuple[float, int, str]]] = defaultdict(list)
    patients = itertools.cycle(config["patients"])
    roles = itertools.cycle(ROLES)
    deadline = time.monotonic() + config["duration"] + 30

    class Person(HttpUser):
        wait_time = constant_throughput(config["rate"] / config["users"])

        def on_start(self) -> None:
            self.role = next(roles)
            self.screens = itertools.cycle(SCREENS[self.role])
            self.client.get("/login/", name="sign in (GET)")
            self.client.post(
                "/login/",
                data={
                    "username": self.role,
                    "password": config["password"],
                    "csrfmiddlewaretoken": self.client.cookies.get("csrftoken", ""),
                },
                name="sign in (POST)",
            )

        @task
        def next_screen(self) -> None:
            if time.monotonic() > deadline:  # bounded even if the runner's stop were lost
                self.environment.runner.quit()
                return
            name, method, path = next(self.screens)
            patient = next(patients)
            path = path.format(patient=patient["id"])
            if method == "GET":
                self.client.get(path, name=name)
            else:
                body = {"kind": "weight", "value": f"{patient['weight']} kg", "confirm_unusual": True}
                headers = {"X-CSRFToken": self.client.cookies.get("csrftoken", "")}
                self.client.post(path, json=body, headers=headers, name=name)

    def heard(name: str, response_time: float, response: Any = None, exception: Any = None, **_: Any) -> None:
        status = getattr(response, "status_code", 0) or 0
        samples[name].append((response_time, int(status), "" if exception is None else str(exception)[:200]))

    environment = Environment(user_classes=[Person], events=events, host=host)
    environment.events.request.add_listener(heard)  # type: ignore[no-untyped-call]
    runner = environment.create_local_runner()
    runner.start(config["users"], spawn_rate=config["users"])
    gevent.spawn_later(config["duration"], runner.quit)
    runner.greenlet.join(timeout=config["duration"] + 60)
    return {"samples": samples, "users": config["users"], "roles": list(ROLES)}


def main() -> int:
    with open(sys.argv[1]) as handle:
        config = json.load(handle)
    result = run(config)
    with open(config["out"], "w") as handle:
        json.dump(result, handle)
    return 0


if __name__ == "__main__":
    sys.exit(main())
