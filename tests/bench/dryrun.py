"""The whole-workflow dry run beside Opentrons' own simulation of the same workflow exported as
a protocol (`opentrons.simulate.simulate`, what `opentrons_simulate` runs), both warm in this
process; and a cached dry run answered through the API."""

import io
import json
import statistics
import time

from django.contrib.auth import get_user_model
from django.test import Client

from canvas.document import Document
from robots.dryrun import DRY_RUNS, play
from robots.export import export_protocol
from tests.factories import DEMOS, SHARED_EXAMPLES

REPEATS = 5


def figure(name, value, unit):
    print(f"{name} {value:.3f} {unit}", flush=True)


def seconds(action) -> float:
    began = time.perf_counter()
    action()
    return time.perf_counter() - began


def run():
    from opentrons import simulate

    path = SHARED_EXAMPLES / "serial_dilution_ot2.json"
    doc = json.loads((path if path.exists() else DEMOS / "serial_dilution.json").read_text())
    protocol = export_protocol(Document.model_validate(doc))

    def opentrons_simulate():
        simulate.simulate(io.StringIO(protocol), file_name="protocol.py")

    def ours():
        assert play(doc)["status"] == "passed"

    ours()
    opentrons_simulate()  # both warm
    theirs_s = statistics.median(seconds(opentrons_simulate) for _ in range(REPEATS))
    ours_s = statistics.median(seconds(ours) for _ in range(REPEATS))
    figure("dry_run.serial_dilution", ours_s, "s")
    figure("dry_run.opentrons_simulate_reference", theirs_s, "s")
    figure("dry_run.ratio_to_opentrons_simulate", ours_s / theirs_s, "x")

    user, _ = get_user_model().objects.get_or_create(username="bench-dry-run")
    client = Client()
    client.force_login(user)
    DRY_RUNS.wait(doc)  # computed once, in a worker process
    body = json.dumps({"document": doc})

    def cached():
        answer = client.post("/api/dry-run", data=body, content_type="application/json")
        assert answer.json()["status"] == "passed"

    figure(
        "dry_run.cached_answer",
        statistics.median(seconds(cached) for _ in range(20)) * 1000,
        "ms",
    )
