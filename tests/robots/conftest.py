import pytest

from robots import dryrun


@pytest.fixture
def taken(monkeypatch):
    """(node, whether the dry run's step was used) for every robot step of the runs."""
    seen = []
    take = dryrun.Script.take

    def spy(self, node_id, params):
        step = take(self, node_id, params)
        seen.append((node_id, step is not None))
        return step

    monkeypatch.setattr(dryrun.Script, "take", spy)
    return seen
