"""The world outlines (topojson) plotly.js draws under the map, kept in visualize/topojson/ (see its README.md).

plotly.js fetches `<config.topojsonURL><geo.scope>_<geo.resolution>m.json` when a geo subplot is drawn, from
cdn.plot.ly unless told otherwise; every page and the PNG export point it here instead.
"""

from __future__ import annotations

from pathlib import Path

TOPOJSON_DIR = Path(__file__).parent / "topojson"
SCOPE = "world"
RESOLUTION = 110  # 1:110m, ~140 KB; the 1:50m file is 1.1 MB for detail a dashboard does not show
# The only files served from TOPOJSON_DIR: a request names one of these or gets a 404, whatever it holds.
SERVED = frozenset(path.name for path in TOPOJSON_DIR.glob("*.json"))
