"""Campaigns: each optimiser beside random choice on the colour-mixing campaign (same budget,
five seeds, the median best distance), how long a suggestion takes, and what the loop adds
between a trial's end and the next trial's start (native engine, simulator, the supervisor)."""

import random
import statistics
import threading
import time

from django.contrib.auth import get_user_model

from canvas.models import Workflow
from orchestration import campaigns, optimisers, supervisor
from orchestration.models import Campaign, CampaignState, Trial
from tests.factories import demo

SEEDS = range(5)
BUDGET = 30
SPACE = [
    {"parameter": p, "kind": "float", "low": 1, "high": 100} for p in ("red", "yellow", "blue")
]
DISTANCE = "nodes.record.output.distance"


def figure(name, value, unit):
    print(f"{name} {value:.3f} {unit}", flush=True)


def run_campaign(workflow, owner, optimiser: str, seed: int, batch: int, target=None) -> Campaign:
    objective = {"path": DISTANCE, "direction": "minimize"}
    if target is not None:
        objective["target"] = target
    campaign = campaigns.create(
        workflow,
        owner,
        f"bench {optimiser} {seed}",
        {
            "space": SPACE,
            "objectives": [objective],
            "optimiser": "random" if optimiser == "sobol" else optimiser,
            "optimiser_settings": {"method": "sobol"} if optimiser == "sobol" else {},
            "initial_runs": 5,
            "batch_size": batch,
            "budget": BUDGET,
            "seed": seed,
        },
        start=True,
    )
    while Campaign.objects.get(pk=campaign.pk).state != CampaignState.FINISHED:
        campaigns.step(campaign.pk)
        time.sleep(0.02)
    return campaign


def suggestion_seconds(name: str, observations: int) -> float:
    rng = random.Random(0)
    objective = [{"path": "d", "direction": "minimize"}]
    observed = []
    for _ in range(observations):
        point = {d["parameter"]: rng.uniform(1, 100) for d in SPACE}
        observed.append((point, {"d": sum((v - 50) ** 2 for v in point.values()) ** 0.5}))
    optimiser = optimisers.build(name, SPACE, objective, {}, 0)
    optimiser.observe(observed)
    optimiser.suggest(1)  # imports, first fit
    began = time.perf_counter()
    optimiser.suggest(1)
    return time.perf_counter() - began


def loop_latency(workflow, owner) -> float:
    """Median seconds from one trial's run end to the next trial's run creation, with the
    supervisor's loop running as in `make run` (woken when a run ends)."""
    stop = threading.Event()
    thread = threading.Thread(target=supervisor.loop, args=(stop,), daemon=True)
    thread.start()
    try:
        campaign = campaigns.create(
            workflow,
            owner,
            "bench loop",
            {
                "space": SPACE,
                "objectives": [{"path": DISTANCE}],
                "initial_runs": 3,
                "budget": 12,
                "batch_size": 1,
            },
            start=True,
        )
        while Campaign.objects.get(pk=campaign.pk).state != CampaignState.FINISHED:
            time.sleep(0.1)
    finally:
        stop.set()
        thread.join(10)
    trials = list(Trial.objects.filter(campaign=campaign).select_related("run").order_by("number"))
    gaps = [
        (after.run.created_at - before.run.finished_at).total_seconds()
        for before, after in zip(trials, trials[1:], strict=False)
    ]
    return statistics.median(gaps)


def run():
    owner, _ = get_user_model().objects.get_or_create(username="bench-campaigns")
    workflow = Workflow.create(demo("colour_mixing"), owner)
    figure(
        "campaign.optuna.suggest_with_200_observations",
        suggestion_seconds("optuna", 200) * 1000,
        "ms",
    )
    figure("campaign.gp.suggest_with_100_observations", suggestion_seconds("gp", 100), "s")
    figure("campaign.loop_latency", loop_latency(workflow, owner), "s")
    for optimiser in ("optuna", "gp", "sobol", "random"):
        best = []
        for seed in SEEDS:
            campaign = run_campaign(workflow, owner, optimiser, seed, batch=5)
            found = campaigns.best(campaign)
            best.append(found.values[DISTANCE] if found else float("nan"))
        figure(f"campaign.colour_mixing.best_distance.{optimiser}", statistics.median(best), "")
