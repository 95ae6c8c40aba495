"""Suppression tests written to kill surviving mutants (issue 15, scripts/mutation.sh oversight)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from patrolcast.oversight.suppression import disclosed_cells, suppress


def test_withholding_keeps_the_threshold() -> None:
    """Mutant: ``SuppressedTable.withhold`` dropping the table's threshold (``threshold=None``).

    A withheld table is checked again against the same threshold: with 5, the 3 and 4 in
    the table are small, and a table withheld from it still says so."""
    table = suppress(pd.DataFrame([[3, 9, 8], [4, 7, 6], [9, 8, 7]]), threshold=5)
    withheld = table.withhold([(0, 0), (1, 0)])
    assert withheld.threshold == table.threshold == 5
    assert np.array_equal(withheld.counts.to_numpy(), table.counts.to_numpy())
    assert disclosed_cells(withheld) == []
