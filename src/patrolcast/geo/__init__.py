"""Geography: CRS handling, grids, area units, point-to-unit and cell-to-area assignment."""

from patrolcast.geo.support import AreaSupport, Grid, Support

__all__ = ["AreaSupport", "Grid", "Support"]
