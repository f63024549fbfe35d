"""Optimisers behind one small interface, rebuilt from a campaign's stored trials at each step
(so a restarted server goes on where it was, and nothing but the database holds state).

An optimiser is made with the search space, the objectives, its settings and a seed; it is told
every finished trial (`observe`: parameters and objective values, or None for a failed one) and
asked for the next `suggest(n)` parameter sets. `record()` says what chose them (name, package
version, settings), stored with each trial. `SETTINGS` is each one's settings form, as a small
JSON Schema. A lab adds another (BayBE, Ax) by writing a class with these four members and
naming it in `SDL_OPTIMISERS` (see the README).
"""

import contextlib
import io
import math
import random
import warnings
from dataclasses import dataclass
from importlib import import_module
from importlib.metadata import PackageNotFoundError, version

from django.conf import settings


class OptimiserError(Exception):
    pass


@dataclass(frozen=True)
class Dimension:
    parameter: str
    kind: str  # float | int | choice
    low: float | None = None
    high: float | None = None
    step: float | None = None
    choices: tuple = ()

    @classmethod
    def of(cls, raw: dict) -> "Dimension":
        return cls(
            parameter=raw["parameter"],
            kind=raw.get("kind", "float"),
            low=raw.get("low"),
            high=raw.get("high"),
            step=raw.get("step"),
            choices=tuple(raw.get("choices") or ()),
        )

    def from_unit(self, u: float):
        """A value of this dimension for u in [0, 1)."""
        if self.kind == "choice":
            return self.choices[min(int(u * len(self.choices)), len(self.choices) - 1)]
        value = self.low + u * (self.high - self.low)
        return self.snap(value)

    def snap(self, value):
        if self.kind == "choice":
            return value
        if self.step:
            value = self.low + round((value - self.low) / self.step) * self.step
        value = min(max(value, self.low), self.high)
        return int(round(value)) if self.kind == "int" else round(float(value), 10)


@dataclass(frozen=True)
class Objective:
    path: str
    direction: str = "minimize"
    target: float | None = None

    @classmethod
    def of(cls, raw: dict) -> "Objective":
        return cls(raw["path"], raw.get("direction", "minimize"), raw.get("target"))

    def score(self, value: float) -> float:
        """Higher is better."""
        return -value if self.direction == "minimize" else value


def scalar(objectives: list[Objective], values: dict) -> float:
    """One number to maximise (the sum of each objective's score), for single-objective tools."""
    return sum(o.score(values[o.path]) for o in objectives)


def _package_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


class Base:
    name = ""
    package = ""
    SETTINGS: dict = {"type": "object", "properties": {}}

    def __init__(self, space, objectives, options=None, seed=0):
        self.space = [Dimension.of(d) if isinstance(d, dict) else d for d in space]
        self.objectives = [Objective.of(o) if isinstance(o, dict) else o for o in objectives]
        self.options = dict(options or {})
        self.seed = seed
        self.observed: list[tuple[dict, dict | None]] = []

    def observe(self, results: list[tuple[dict, dict | None]]) -> None:
        self.observed.extend(results)

    def record(self) -> dict:
        return {
            "optimiser": self.name,
            "package": self.package,
            "version": _package_version(self.package) if self.package else "",
            "settings": self.options,
            "seed": self.seed,
        }


class RandomSearch(Base):
    """Uniform random choices, or a scrambled Sobol sequence (`method`: random | sobol)."""

    name = "random"
    package = "scipy"
    SETTINGS = {
        "type": "object",
        "properties": {"method": {"enum": ["random", "sobol"], "default": "random"}},
    }

    def suggest(self, n: int) -> list[dict]:
        if self.options.get("method") == "sobol":
            points = sobol(len(self.space), len(self.observed), n, self.seed)
        else:
            rng = random.Random(f"{self.seed}:{len(self.observed)}")
            points = [[rng.random() for _ in self.space] for _ in range(n)]
        return [
            {d.parameter: d.from_unit(u) for d, u in zip(self.space, p, strict=True)}
            for p in points
        ]


def sobol(dimensions: int, skip: int, n: int, seed: int) -> list[list[float]]:
    from scipy.stats import qmc

    sampler = qmc.Sobol(d=max(dimensions, 1), scramble=True, seed=seed)
    if skip:
        sampler.fast_forward(skip)
    with warnings.catch_warnings():  # a batch need not be a power of two here
        warnings.simplefilter("ignore", UserWarning)
        return sampler.random(n).tolist()


class OptunaTPE(Base):
    """Optuna's TPE sampler (multi-objective when there are several objectives); a batch is
    asked with the constant liar, so its members differ."""

    name = "optuna"
    package = "optuna"
    SETTINGS = {
        "type": "object",
        "properties": {
            "n_ei_candidates": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 24},
            "multivariate": {"type": "boolean", "default": True},
        },
    }

    def _distributions(self):
        import optuna

        out = {}
        for d in self.space:
            if d.kind == "choice":
                out[d.parameter] = optuna.distributions.CategoricalDistribution(list(d.choices))
            elif d.kind == "int":
                out[d.parameter] = optuna.distributions.IntDistribution(
                    int(d.low), int(d.high), step=int(d.step or 1)
                )
            else:
                out[d.parameter] = optuna.distributions.FloatDistribution(
                    d.low, d.high, step=d.step
                )
        return out

    def suggest(self, n: int) -> list[dict]:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        sampler = optuna.samplers.TPESampler(
            seed=self.seed + len(self.observed),
            n_startup_trials=0,
            constant_liar=True,
            n_ei_candidates=int(self.options.get("n_ei_candidates", 24)),
            multivariate=bool(self.options.get("multivariate", True)),
        )
        directions = [o.direction for o in self.objectives]
        study = optuna.create_study(directions=directions, sampler=sampler)
        distributions = self._distributions()
        for params, values in self.observed:
            known = {k: v for k, v in params.items() if k in distributions}
            if values is None:
                trial = optuna.trial.create_trial(
                    params=known, distributions=distributions, state=optuna.trial.TrialState.FAIL
                )
            else:
                trial = optuna.trial.create_trial(
                    params=known,
                    distributions=distributions,
                    values=[values[o.path] for o in self.objectives],
                )
            study.add_trial(trial)
        asked = [study.ask(distributions) for _ in range(n)]
        return [{d.parameter: d.snap(t.params[d.parameter]) for d in self.space} for t in asked]


class GaussianProcess(Base):
    """Gaussian-process Bayesian optimisation (`bayesian-optimization`, scikit-learn); several
    objectives are summed, each as a score to maximise; a batch by the constant liar (each
    pending point told the worst value seen so far)."""

    name = "gp"
    package = "bayesian-optimization"
    SETTINGS = {
        "type": "object",
        "properties": {
            "kappa": {"type": "number", "minimum": 0, "maximum": 100, "default": 2.576},
        },
    }

    def suggest(self, n: int) -> list[dict]:
        # bayes_opt prints a line for every repeated point (the constant liar makes some)
        with contextlib.redirect_stdout(io.StringIO()):
            return self._suggest(n)

    def _suggest(self, n: int) -> list[dict]:
        from bayes_opt import BayesianOptimization, acquisition

        bounds = {}
        for d in self.space:
            bounds[d.parameter] = (
                (0.0, 1.0) if d.kind == "choice" else (float(d.low), float(d.high))
            )
        optimiser = BayesianOptimization(
            f=None,
            pbounds=bounds,
            acquisition_function=acquisition.UpperConfidenceBound(
                kappa=float(self.options.get("kappa", 2.576)), random_state=self.seed
            ),
            random_state=self.seed + len(self.observed),
            allow_duplicate_points=True,
            verbose=0,
        )
        scores = []
        for params, values in self.observed:
            if values is None:
                continue  # a failed trial teaches a GP nothing about the objective
            point = {d.parameter: self._unit(d, params[d.parameter]) for d in self.space}
            score = scalar(self.objectives, values)
            optimiser.register(params=point, target=score)
            scores.append(score)
        out = []
        for _ in range(n):
            if len(scores) < 2:  # too little to fit: spread out like the initial design
                point = {
                    d.parameter: random.Random(
                        f"{self.seed}:{len(self.observed)}:{len(out)}"
                    ).uniform(*bounds[d.parameter])
                    for d in self.space
                }
            else:
                point = optimiser.suggest()
                optimiser.register(params=point, target=min(scores))  # the constant liar
            out.append({d.parameter: self._value(d, point[d.parameter]) for d in self.space})
        return out

    @staticmethod
    def _unit(d: Dimension, value):
        if d.kind == "choice":
            return (d.choices.index(value) + 0.5) / len(d.choices) if value in d.choices else 0.5
        return float(value)

    @staticmethod
    def _value(d: Dimension, x: float):
        return d.from_unit(min(max(x, 0.0), 0.999999)) if d.kind == "choice" else d.snap(x)


BUILT_IN = {"optuna": OptunaTPE, "gp": GaussianProcess, "random": RandomSearch}


def registered() -> dict[str, type]:
    """Built-in optimisers, and the installation's own (SDL_OPTIMISERS: name → dotted class)."""
    found = dict(BUILT_IN)
    for name, dotted in settings.SDL_OPTIMISERS.items():
        module, _, attribute = dotted.rpartition(".")
        try:
            found[name] = getattr(import_module(module), attribute)
        except (ImportError, AttributeError) as exc:
            raise OptimiserError(
                f"optimiser {name} ({dotted}) cannot be loaded: {exc}; install the package "
                "that provides it"
            )
    return found


def check_installed(name: str) -> None:
    """A clear error when an optimiser, or the package it needs, is not installed."""
    known = registered()
    if name not in known:
        raise OptimiserError(f"no optimiser {name} (there are: {', '.join(sorted(known))})")
    package = known[name].package
    if package and _package_version(package) == "not installed":
        raise OptimiserError(f"optimiser {name} needs the package {package}: pip install {package}")


def build(name: str, space, objectives, options=None, seed=0):
    check_installed(name)
    return registered()[name](space, objectives, options, seed)


def finite(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
