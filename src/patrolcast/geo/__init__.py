"""Geography: CRS handling, grids, area units, point-to-cell and cell-to-area assignment.

- :mod:`~patrolcast.geo.crs`: metric-CRS checks and projection with a report of the operation.
- :mod:`~patrolcast.geo.support`: :class:`Grid` (``Grid.clipped_to(study_area)``) and
  :class:`AreaSupport`.
- :mod:`~patrolcast.geo.boundaries`: LSOA, ward and borough boundary readers.
- :mod:`~patrolcast.geo.study_area`: a study area from a boundary file or the data's extent.
- :mod:`~patrolcast.geo.assign`: cell-to-area assignment and roll-ups.
- :mod:`~patrolcast.geo.area_counts`: area-by-month counts as events at representative points.
"""

from patrolcast.geo.support import AreaSupport, Grid, Support

__all__ = ["AreaSupport", "Grid", "Support"]
