"""A QGIS style stored in a GeoPackage, as QGIS itself stores one ("Save as default").

QGIS keeps layer styles in a ``layer_styles`` table of the GeoPackage (columns
``f_table_catalog, f_table_schema, f_table_name, f_geometry_column, styleName, styleQML,
styleSLD, useAsDefault, description, owner, ui, update_time``); a row with ``useAsDefault``
true is applied when the layer is opened. The style written here is a graduated renderer
(``graduatedSymbol``) on the ranked value: five quantile classes of the units with a positive
value, from pale yellow to dark red (ColorBrewer YlOrRd), outlines off, so a forecast opens in
QGIS looking like the forecast and not like a random single colour.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from xml.sax.saxutils import quoteattr

import numpy as np
import numpy.typing as npt

__all__ = ["YLORRD", "class_breaks", "graduated_qml", "write_layer_style"]

#: ColorBrewer YlOrRd, 5 classes (Brewer, Harrower & Penn State University, Apache 2.0 licence).
YLORRD = ((255, 255, 178), (254, 204, 92), (253, 141, 60), (240, 59, 32), (189, 0, 38))


def class_breaks(values: npt.ArrayLike, n: int = len(YLORRD)) -> list[float]:
    """Upper bounds of up to ``n`` classes: quantiles of the positive values, the last = max.

    All-zero values give one class ``[0, 0]``. Equal quantiles are merged (fewer classes).
    """
    v = np.asarray(values, dtype=np.float64)
    positive = v[v > 0]
    if positive.size == 0:
        return [0.0]
    qs = np.quantile(positive, np.linspace(0, 1, n + 1)[1:])
    out: list[float] = []
    for q in qs:
        q = float(f"{q:.4g}")
        if not out or q > out[-1]:
            out.append(q)
    top = float(positive.max())
    if out[-1] < top:
        out[-1] = top  # the last class holds the largest value (rounding may cut it off)
    return out


def _symbol(name: str, rgb: tuple[int, int, int]) -> str:
    colour = ",".join(map(str, rgb)) + ",255"
    return (
        f'<symbol type="fill" name="{name}" alpha="0.85" clip_to_extent="1" force_rhr="0">'
        '<layer class="SimpleFill" enabled="1" locked="0" pass="0"><Option type="Map">'
        f'<Option name="color" type="QString" value="{colour}"/>'
        '<Option name="outline_style" type="QString" value="no"/>'
        '<Option name="style" type="QString" value="solid"/>'
        "</Option></layer></symbol>"
    )


def graduated_qml(column: str, values: npt.ArrayLike, *, legend: str) -> str:
    """QML of a graduated fill on ``column`` with classes from ``values``; ``legend`` titles
    the classes (units, e.g. "expected offences per 250 m cell, 7 days")."""
    breaks = class_breaks(values)
    colours = YLORRD if len(breaks) == len(YLORRD) else YLORRD[-len(breaks):]
    lower = 0.0
    ranges, symbols = [], []
    for k, (upper, rgb) in enumerate(zip(breaks, colours, strict=True)):
        label = f"{lower:.4g} - {upper:.4g}"
        ranges.append(
            f'<range lower="{lower!r}" upper="{upper!r}" symbol="{k}" '
            f"label={quoteattr(label)} render=\"true\"/>"
        )
        symbols.append(_symbol(str(k), rgb))
        lower = upper
    return (
        "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
        '<qgis version="3.28.0" styleCategories="Symbology">'
        f'<renderer-v2 type="graduatedSymbol" attr={quoteattr(column)} '
        'graduatedMethod="GraduatedColor" symbollevels="0" enableorderby="0" forceraster="0">'
        f"<ranges>{''.join(ranges)}</ranges><symbols>{''.join(symbols)}</symbols>"
        '<mode name="quantile"/><rotation/><sizescale/>'
        '<labelformat format="%1 - %2" decimalplaces="4" trimtrailingzeroes="1"/>'
        "</renderer-v2>"
        f"<legend type=\"default-vector\"/><layerGeometryType>2</layerGeometryType>"
        f"<!-- {legend.replace('--', '-')} -->"
        "</qgis>\n"
    )


def write_layer_style(path: Path, layer: str, qml: str, *, name: str, description: str) -> None:
    """Add ``qml`` as the default style of ``layer`` to the GeoPackage ``path``."""
    import pandas as pd
    import pyogrio

    row = {
        "f_table_catalog": "",
        "f_table_schema": "",
        "f_table_name": layer,
        "f_geometry_column": "geom",
        "styleName": name,
        "styleQML": qml,
        "styleSLD": "",
        "useAsDefault": True,
        "description": description,
        "owner": "",
        "ui": "",
        "update_time": datetime.now(UTC).replace(microsecond=0, tzinfo=None),
    }
    pyogrio.write_dataframe(pd.DataFrame([row]), path, layer="layer_styles", driver="GPKG")
