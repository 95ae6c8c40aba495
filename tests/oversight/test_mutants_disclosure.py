"""Disclosure tests written to kill surviving mutants (issue 15, scripts/mutation.sh oversight)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from patrolcast.oversight.disclosure import PRIMARY_HIDDEN, SECONDARY_HIDDEN, joint_unprotected
from patrolcast.oversight.suppression import suppress


def test_linked_tables_report_only_pinned_small_counts() -> None:
    """Mutants: ``joint_unprotected``'s small-count test ``0 < v < threshold`` widened to
    ``0 <= v`` or ``v <= threshold``.

    A withheld column (status 3: any count from 0) holds 0, 1 and 3 (threshold 3); linked to
    what another table shows, all three are pinned and only the 1 is a small number given
    away. Then four hidden ``[c]`` cells, 3, 5, 0 and 6 (the 0 a count hidden because it is
    hidden elsewhere), all pinned once one of them is: no small count is given away, though
    the 3 (at the threshold) and the 0 are pinned."""
    table = suppress(pd.DataFrame([[0, 5], [1, 6], [3, 4]])).withhold([(0, 0), (1, 0), (2, 0)])
    tables = [(table.counts.to_numpy(), table.status, 3)]
    assert joint_unprotected(tables, []) == []  # alone, a withheld line gives nothing away
    links = [([(0, (i, 0), 1.0)], float(v), float(v)) for i, v in enumerate((0, 1, 3))]
    assert joint_unprotected(tables, links) == [(0, (1, 0))]

    values = np.array([[3, 5, 8], [0, 6, 6], [3, 11, 14]])
    status = np.zeros_like(values)
    status[:2, :2] = SECONDARY_HIDDEN
    pin = ([(0, (0, 0), 1.0)], 3.0, 3.0)
    assert joint_unprotected([(values, status, 3)], [pin]) == []
    # the same pattern with a "<3" 2 where the 3 is: the 2 is pinned and reported
    values[0] = [2, 5, 7]
    values[2] = [2, 11, 13]
    status[0, 0] = PRIMARY_HIDDEN
    pin = ([(0, (0, 0), 1.0)], 2.0, 2.0)
    assert joint_unprotected([(values, status, 3)], [pin]) == [(0, (0, 0))]
