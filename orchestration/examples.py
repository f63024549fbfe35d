"""Functions a `python.call` node may call out of the box (see SDL_PYTHON_CALLABLES).

An installation registers its own by dotted name in settings; a workflow can only name them.
"""


def add(a: float, b: float) -> float:
    return a + b


def mean(values: list[float]) -> float:
    if not values:
        raise ValueError("mean of no values")
    return sum(values) / len(values)


def distance(a: list[float], b: list[float]) -> float:
    """Euclidean distance between two equally long lists of numbers (e.g. a measured colour
    and a target one)."""
    if len(a) != len(b) or not a:
        raise ValueError(f"distance needs two lists of the same length (got {len(a)} and {len(b)})")
    return sum((x - y) ** 2 for x, y in zip(a, b, strict=True)) ** 0.5
