"""The same warehouse and seed give byte-identical risk models, risk scores and segment
summaries, whatever order rows come in.

Training drew its calibration people by row of a frame in the order the warehouse
returned (which varies from run to run), so one seed gave different models; a person's
cost (a feature, and the segment summaries' money) was a floating-point sum in the
order the engine's threads reached the rows. Here the second warehouse holds the same
rows stored in another order, which changes both even on one thread, so the check does
not depend on thread timing.
"""

from __future__ import annotations

import pandas as pd
import pytest

from joinedup.risk.model import score_people, train
from joinedup.risk.segments import segment_people, segment_summary
from joinedup.warehouse import open_warehouse

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def warehouses(reordered_warehouses):
    opened = [open_warehouse(p, read_only=True) for p in reordered_warehouses]
    yield opened
    for wh in opened:
        wh.close()


@pytest.fixture(scope="module")
def trained(warehouses):
    return [train(wh, rounds=5, seed=42) for wh in warehouses]


def test_training_gives_the_same_model_whatever_order_rows_come_in(trained):
    x, y = trained
    assert (x.model.intercept, x.model.slope) == (y.model.intercept, y.model.slope)
    assert x.validation.to_csv() == y.validation.to_csv()


def test_scores_and_segment_summaries_do_not_depend_on_the_order_rows_come_in(warehouses, trained):
    model = trained[0].model  # the same model for both: scores from the same inputs
    scored = [score_people(wh, model) for wh in warehouses]
    assert scored[0].to_csv() == scored[1].to_csv()
    people = [segment_people(s) for s in scored]
    for by in (None, "footprint", "practice"):
        for kind in ("segment", "tier"):
            x, y = (segment_summary(p, by, kind).frame for p in people)
            pd.testing.assert_frame_equal(x, y, check_exact=True)
            assert x.to_csv() == y.to_csv()
