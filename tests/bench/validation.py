"""Validation time per document: a chain whose every node references its predecessor's output
(with a `when` condition on every edge), and a wide fan-out, at 1,000 and 10,000 nodes."""

import time

from canvas.validation import validate


def figure(name, value, unit):
    print(f"{name} {value:.3f} {unit}", flush=True)


def chain(n: int) -> dict:
    nodes = [{"id": "n0", "type": "control.log", "params": {"message": "start"}}]
    edges = []
    for i in range(1, n):
        previous = f"{{{{ nodes.n{i - 1}.output.message }}}}"
        nodes.append({"id": f"n{i}", "type": "control.log", "params": {"message": previous}})
        edges.append({"source": f"n{i - 1}", "target": f"n{i}", "when": f'{previous} != "x"'})
    return {"schema": "sdl-workflow/1", "name": "chain", "nodes": nodes, "edges": edges}


def fan_out(n: int) -> dict:
    root = "{{ nodes.n0.output.message }}"
    nodes = [{"id": "n0", "type": "control.log", "params": {"message": "start"}}]
    nodes += [
        {"id": f"n{i}", "type": "control.log", "params": {"message": root}} for i in range(1, n)
    ]
    edges = [{"source": "n0", "target": f"n{i}"} for i in range(1, n)]
    return {"schema": "sdl-workflow/1", "name": "fan-out", "nodes": nodes, "edges": edges}


def seconds(document: dict) -> float:
    started = time.perf_counter()
    report = validate(document)
    elapsed = time.perf_counter() - started
    assert report.valid, report.issues[:3]
    return elapsed


def run():
    validate(chain(10))  # warm up: the registry imports its node types
    for shape, build in (("chain", chain), ("fanout", fan_out)):
        for n in (1000, 10000):
            elapsed = seconds(build(n))
            figure(f"validation.{shape}.{n}", elapsed * 1000, "ms")
            figure(f"validation.{shape}.{n}.per_node", elapsed / n * 1e6, "us")
