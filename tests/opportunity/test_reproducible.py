"""The same warehouse gives a byte-identical opportunity table, whatever order rows are
added in.

The money behind one avoidable event is a mean cost, and a parallel engine's AVG of
doubles adds the rows in whatever order its threads reach them: the table's pounds
differed in their last digits from run to run. Here the second warehouse holds the same
rows stored in another order, which changes the order of addition even on one thread,
so the check does not depend on thread timing.
"""

from __future__ import annotations

import pytest

from joinedup.opportunity import opportunity_table
from joinedup.warehouse import open_warehouse

pytestmark = pytest.mark.integration

MEASURES = ["emergency_admissions", "ae_attendances", "emergency_readmissions_30d"]


def test_opportunity_table_does_not_depend_on_the_order_rows_are_added_in(reordered_warehouses):
    tables = []
    for path in reordered_warehouses:
        with open_warehouse(path, read_only=True) as wh:
            tables.append(opportunity_table(wh, by="practice", measures=MEASURES).to_csv())
    assert tables[0] == tables[1]
