"""Functions a `python.call` node may call out of the box (see SDL_PYTHON_CALLABLES).

An installation registers its own by dotted name in settings; a workflow can only name them.
"""


def add(a: float, b: float) -> float:
    return a + b


def mean(values: list[float]) -> float:
    if not values:
        raise ValueError("mean of no values")
    return sum(values) / len(values)
