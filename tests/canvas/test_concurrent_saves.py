"""Two people saving on the same version at once: exactly one wins, nothing is lost."""

import threading

import pytest
from django.db import connection

from canvas.models import VersionConflict, Workflow
from tests.factories import document, make_user, make_workflow


@pytest.mark.db_concurrency
@pytest.mark.django_db(transaction=True)
def test_concurrent_saves_on_one_version_let_exactly_one_through():
    owner = make_user("olivia")
    workflow = make_workflow(owner)
    barrier = threading.Barrier(8)
    outcomes = []

    def save(i):
        try:
            barrier.wait()
            Workflow.objects.get(pk=workflow.pk).save_version(
                document(name=f"edit {i}"), owner, f"edit {i}", base_version=1
            )
            outcomes.append("saved")
        except VersionConflict:
            outcomes.append("conflict")
        finally:
            connection.close()

    threads = [threading.Thread(target=save, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert sorted(outcomes) == ["conflict"] * 7 + ["saved"]
    workflow.refresh_from_db()
    latest = workflow.versions.get(number=2)
    assert workflow.version == 2 and workflow.document == latest.document
    assert list(workflow.versions.values_list("number", flat=True)) == [2, 1]
