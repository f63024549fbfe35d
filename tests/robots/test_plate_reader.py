"""The colour-mixing demo on a simulated Flex: the plate reader's simulated readings follow
the volumes dispensed, as the Beer–Lambert model says."""

import pytest

from orchestration.models import RunState
from robots import definitions as defs
from tests.factories import demo, make_robot
from tests.orchestration.runhelpers import nodes, run_on

pytestmark = pytest.mark.django_db(transaction=True)


def readings(owner, **volumes) -> tuple[dict, dict]:
    run = run_on(
        owner,
        demo("colour_mixing"),
        make_robot(f"flex-{len(volumes)}-{sum(volumes.values())}", robot_type="Flex"),
        volumes,
    )
    assert run.state == RunState.COMPLETED, run.error
    by_id = nodes(run)
    return by_id["read"].output["readings"], by_id["record"].output


def test_simulated_readings_change_with_the_volumes_as_the_model_says(owner):
    base, recorded = readings(owner)
    redder, _ = readings(owner, red=80)
    area_cm2 = defs.labware("corning_96_wellplate_360ul_flat").well_area / 100
    # one more 40 µL of red dye adds 2.0 × 40 µL / area at 570 nm, whatever else is in the well
    assert redder["570"]["A1"] - base["570"]["A1"] == pytest.approx(
        2.0 * 0.040 / area_cm2, rel=1e-2
    )
    assert redder["650"]["A1"] - base["650"]["A1"] == pytest.approx(
        0.1 * 0.040 / area_cm2, rel=1e-2
    )
    assert base["450"]["B1"] == 0.0  # an empty well
    expected = (
        sum(
            (base[w]["A1"] - target) ** 2
            for w, target in (("450", 0.53), ("570", 0.45), ("650", 0.25))
        )
        ** 0.5
    )
    assert recorded["distance"] == pytest.approx(expected)
    assert recorded["red"] == 40
