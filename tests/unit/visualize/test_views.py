"""Dashboards: each chart's numbers, the filters, empty catalogs, formats, the original names, the cache.

The catalog rows here are GENERATED (images labelled `source="generated"`), inserted directly.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import insert

import visualize
from mosaic.catalog.schema import colours, exif, images, places, tags
from mosaic.imaging.named_colours import NAMED_COLOURS
from visualize.figures import CHARTS
from visualize.figures import tags as tags_chart
from visualize.filters import Filters
from visualize.png import PngUnavailable, Renderer

ORIGINAL_NAMES = ["size/static/500/10", "size/dynamic", "year", "brand", "map", "countries", "altitude",
                  "dominant_color", "tags/dendrogram", "tags/top"]
ALL_PATHS = [chart.path for chart in CHARTS.values()]
PNG = b"\x89PNG\r\n\x1a\n"  # what the renderer's stand-in draws; the real one: tests/integration/test_dashboards.py


def add_photo(connection, image_id, width, height, created, make=None, taken=None, place=None, colour=None,
              labels=(), gps_altitude=None):
    """One GENERATED image with its exif, place, dominant colour and tags."""
    connection.execute(insert(images).values(
        id=image_id, sha256=image_id.ljust(64, "0"), object_key=f"originals/{image_id}", source="generated",
        bytes=1000, mime="image/jpeg", width=width, height=height, state="indexed", created_at=created,
        updated_at=created))
    if make or taken or gps_altitude is not None:
        connection.execute(insert(exif).values(image_id=image_id, make=make, taken_at=taken,
                                               gps_altitude=gps_altitude))
    if place:
        country, code, lat, lon, alt = place
        connection.execute(insert(places).values(image_id=image_id, country=country, country_code=code,
                                                 latitude=lat, longitude=lon, altitude=alt))
    if colour:
        red, green, blue = (int(NAMED_COLOURS[colour][i:i + 2], 16) for i in (1, 3, 5))
        connection.execute(insert(colours).values(
            image_id=image_id, rank=0, hex=NAMED_COLOURS[colour], red=red, green=green, blue=blue,
            lab_l=50, lab_a=0, lab_b=0, share=0.6, name=colour))
        connection.execute(insert(colours).values(  # a second palette colour: never the dominant one
            image_id=image_id, rank=1, hex="#ffffff", red=255, green=255, blue=255, lab_l=100, lab_a=0, lab_b=0,
            share=0.1, name="white"))
    for label, source in labels:
        connection.execute(insert(tags).values(image_id=image_id, label=label, source=source, score=0.9))


def utc(*parts):
    return datetime(*parts, tzinfo=UTC)


def populate(engine):
    with engine.begin() as connection:
        add_photo(connection, "g1", 4000, 3000, utc(2024, 1, 2), make="Canon", taken=datetime(2021, 5, 3, 10),
                  place=("France", "FR", 48.85, 2.35, 35.0), colour="blue",
                  labels=[("dog", "detector"), ("beach", "scene")])
        add_photo(connection, "g2", 640, 480, utc(2024, 1, 2), make="Nikon", taken=datetime(2022, 7, 1, 10),
                  place=("France", "FR", 45.76, 4.83, 1200.0), colour="blue",
                  labels=[("dog", "detector"), ("dog", "dataset"), ("cat", "detector")])
        add_photo(connection, "g3", 6000, 4000, utc(2023, 1, 15), make="Canon", gps_altitude=3000.0,
                  place=("Japan", "JP", 35.68, 139.69, None), colour="red", labels=[("cat", "detector")])
        add_photo(connection, "g4", 800, 600, utc(2023, 2, 1), colour="green")


@pytest.fixture
def client(backends):
    return visualize.create_app(backends.settings, backends).test_client()


@pytest.fixture
def filled(backends, client):
    populate(backends.catalog)
    return client


def figure(client, path, **params):
    response = client.get(f"/graph/{path}", query_string=params)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) >= {"data", "layout"}
    return body


def bars(body, trace=0):
    data = body["data"][trace]
    return dict(zip(data["x"], data["y"], strict=True))


def says_no_data(body) -> bool:
    return any("no data yet" in a.get("text", "") for a in body["layout"].get("annotations", []))


# -- the listing, names and formats -----------------------------------------------------------------


def test_graphs_lists_every_chart_with_working_urls(client):
    listed = client.get("/graphs").get_json()
    assert [g["name"] for g in listed] == list(CHARTS)
    assert all(set(g) == {"name", "title", "url"} for g in listed)
    for entry in listed:
        assert client.get(entry["url"]).status_code == 200, entry


@pytest.mark.parametrize("path", sorted(set(ORIGINAL_NAMES + ALL_PATHS)))
def test_every_name_answers_json_on_an_empty_catalog_saying_no_data(client, path):
    body = figure(client, path)
    assert says_no_data(body)
    assert body["layout"]["title"]["text"]


@pytest.mark.parametrize("path", sorted(set(ORIGINAL_NAMES + ALL_PATHS)))
def test_every_name_answers_json_with_data(filled, path):
    body = figure(filled, path)
    assert body["data"] and not says_no_data(body)


def test_unknown_graph_is_404(client):
    for path in ("nope", "size/static/10", "tags/nope"):
        response = client.get(f"/graph/{path}")
        assert response.status_code == 404 and response.get_json()["error"] == "unknown_graph"
    assert client.get("/graph/size/static/0/5").status_code == 400
    assert client.get("/graph/size/static/a/5").status_code == 400


def test_html_embeds_plotly_js(filled):
    response = filled.get("/graph/brand?format=html")
    assert response.status_code == 200 and response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "<script src=" not in page and "cdn.plot.ly/plotly" not in page
    assert len(page) > 1_000_000 and "Plotly.newPlot" in page  # the library itself, inline
    assert '"topojsonURL": "/topojson/"' in page  # map outlines from this service, not the CDN


def test_json_and_html_point_plotly_at_the_served_outlines(filled):
    body = figure(filled, "map")
    assert body["config"] == {"topojsonURL": "/topojson/"}  # Plotly.newPlot(div, body) draws it offline
    geo = body["layout"]["geo"]
    # plotly.js asks for <topojsonURL><scope>_<resolution>m.json: this service has that file.
    outline = filled.get(f"/topojson/{geo['scope']}_{geo['resolution']}m.json")
    assert outline.status_code == 200 and outline.mimetype == "application/json"
    topology = outline.get_json()
    assert topology["type"] == "Topology" and {"land", "coastlines", "countries"} <= set(topology["objects"])
    page = filled.get("/graph/map?format=html").get_data(as_text=True)
    assert '"topojsonURL": "/topojson/"' in page
    assert filled.get("/topojson/world_50m.json").status_code == 404
    assert filled.get("/topojson/..%2F..%2Fviews.py").status_code == 404


def test_png_for_format_or_image_accept_else_json(filled, monkeypatch):
    drawn = []
    monkeypatch.setattr("visualize.views.png", lambda fig, width, height: drawn.append((width, height)) or PNG)
    for response in (filled.get("/graph/brand?format=png"),
                     filled.get("/graph/brand", headers={"Accept": "image/avif,image/webp,image/*,*/*;q=0.8"})):
        assert response.status_code == 200 and response.mimetype == "image/png" and response.data == PNG
    assert drawn == [(1000, 600)] * 2
    for accept in ("*/*", "application/json", "application/json, image/png;q=0.5"):
        assert filled.get("/graph/brand", headers={"Accept": accept}).mimetype == "application/json"


def test_png_unavailable_is_406_saying_why(filled, monkeypatch):
    def no_browser(fig, width, height):
        raise PngUnavailable("PNG export needs chromium (apt-get install chromium) or BROWSER_PATH")

    monkeypatch.setattr("visualize.views.png", no_browser)
    response = filled.get("/graph/brand?format=png")
    assert response.status_code == 406 and response.get_json()["error"] == "png_unavailable"
    assert "chromium" in response.get_json()["message"]


def test_renderer_without_a_browser_says_so(monkeypatch, tmp_path):
    monkeypatch.delenv("BROWSER_PATH", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))  # no chromium to be found
    with pytest.raises(PngUnavailable, match="needs chromium"):
        Renderer().render({"data": [], "layout": {}}, 100, 100)


def test_reset_drops_cached_figures(backends, filled):
    assert bars(figure(filled, "brand")) == {"Canon": 2, "Nikon": 1, "Unknown": 1}
    with backends.catalog.begin() as connection:
        add_photo(connection, "g5", 100, 100, utc(2024, 3, 3), make="Sony")
    assert "Sony" not in bars(figure(filled, "brand"))  # cached
    response = filled.get("/api/v1/reset")
    assert response.status_code == 200 and response.get_json()["dropped"] >= 1
    assert bars(figure(filled, "brand"))["Sony"] == 1


# -- each chart's numbers ---------------------------------------------------------------------------


def test_size_static_bins_widths_and_heights(filled):
    body = figure(filled, "size/static/1000/5")
    widths, heights = body["data"][0], body["data"][1]
    assert widths["name"] == "Width" and widths["y"] == [2, 0, 0, 0, 2]  # 640, 800 | 4000, 6000 (open-ended)
    assert heights["y"] == [2, 0, 0, 1, 1]  # 480, 600 | 3000 | 4000
    assert widths["x"][-1] == "≥ 4000"


def test_size_dynamic_one_point_per_size(filled):
    trace = figure(filled, "size/dynamic")["data"][0]
    assert sorted(zip(trace["x"], trace["y"], strict=True)) == [(640, 480), (800, 600), (4000, 3000), (6000, 4000)]


def test_year_uses_capture_date_else_upload_date(filled):
    assert bars(figure(filled, "year")) == {2021: 1, 2022: 1, 2023: 2}


def test_brand_counts_makes(filled):
    assert bars(figure(filled, "brand")) == {"Canon": 2, "Nikon": 1, "Unknown": 1}


def test_countries_and_map(filled):
    assert bars(figure(filled, "countries")) == {"France": 2, "Japan": 1}
    trace = figure(filled, "map")["data"][0]
    assert trace["type"] == "scattergeo" and len(trace["lat"]) == 3
    assert sum(c[0] for c in trace["customdata"]) == 3


def test_altitude_prefers_place_then_exif(filled):
    trace = figure(filled, "altitude")["data"][0]
    assert sum(trace["y"]) == 3
    lows = [low for (low, _), n in zip(trace["customdata"], trace["y"], strict=True) for _ in range(n)]
    assert lows == [0, 1200, 3000]  # 100 m bins: 35 m, 1200 m, 3000 m (EXIF, no place altitude)


def test_dominant_colour_bars_in_their_own_colours(filled):
    body = figure(filled, "dominant_color")
    assert bars(body) == {"blue": 2, "red": 1, "green": 1}  # rank 0 only: "white" is every rank 1
    trace = body["data"][0]
    assert dict(zip(trace["x"], trace["marker"]["color"], strict=True))["blue"] == NAMED_COLOURS["blue"]


def test_top_tags_count_photos_and_split_by_source(filled):
    body = figure(filled, "tags/top")
    assert body["layout"]["meta"]["photos"] == {"dog": 2, "cat": 2, "beach": 1}
    by_source = {trace["name"]: bars(body, i) for i, trace in enumerate(body["data"])}
    assert by_source["detector"]["dog"] == 2 and by_source["dataset"]["dog"] == 1
    assert by_source["scene"]["beach"] == 1


def test_dendrogram_clusters_tags_and_takes_categories(filled):
    layout = figure(filled, "tags/dendrogram")["layout"]
    assert sorted(layout["xaxis"]["ticktext"]) == ["beach", "cat", "dog"]
    # The original's GET with a JSON body: only tags under those words.
    response = filled.get("/graph/tags/dendrogram", data=json.dumps({"list": ["dog", "cat"]}),
                          content_type="application/json")
    assert sorted(response.get_json()["layout"]["xaxis"]["ticktext"]) == ["cat [cat]", "dog [dog]"]
    assert sorted(figure(filled, "tags/dendrogram", list="dog,beach")["layout"]["xaxis"]["ticktext"]) == [
        "beach [beach]", "dog [dog]"]
    assert says_no_data(figure(filled, "tags/dendrogram", list="dog"))  # one tag: nothing to cluster
    bad = filled.get("/graph/tags/dendrogram", data='{"list": "dog"}', content_type="application/json")
    assert bad.status_code == 400


CO_OCCURRENCE = [[1, 0, 1], [0, 2, 1], [1, 1, 2]]  # beach, cat, dog: g2's dog (two sources) is one photo


def test_co_occurrence_counts_each_photo_once(backends, filled):
    with backends.catalog.connect() as connection:
        together = tags_chart._co_occurrence(connection, Filters(), ["beach", "cat", "dog"])
        assert together.tolist() == CO_OCCURRENCE
        nikon = tags_chart._co_occurrence(connection, Filters(make="Nikon"), ["cat", "dog"])
        assert nikon.tolist() == [[1, 1], [1, 1]]  # g2 alone


def test_colours_by_country_and_month(filled):
    body = figure(filled, "colours/country")
    shares = {trace["name"]: bars(body, i) for i, trace in enumerate(body["data"])}
    assert shares["blue"] == {"France": 2, "Japan": 0} and shares["red"] == {"France": 0, "Japan": 1}
    assert body["layout"]["barnorm"] == "percent"
    assert {t["name"]: t["marker"]["color"] for t in body["data"]}["red"] == NAMED_COLOURS["red"]
    body = figure(filled, "colours/month")
    months = {trace["name"]: bars(body, i) for i, trace in enumerate(body["data"])}
    assert months["blue"] == {"May": 1, "Jul": 1, "Jan": 0, "Feb": 0}  # g3 uploaded in Jan, g4 in Feb
    assert months["red"]["Jan"] == 1 and months["green"]["Feb"] == 1


# -- filters ----------------------------------------------------------------------------------------


def test_filters_narrow_every_chart(filled):
    assert bars(figure(filled, "brand", make="canon")) == {"Canon": 2}
    assert bars(figure(filled, "year", country="JP")) == {2023: 1}
    assert bars(figure(filled, "year", country="france")) == {2021: 1, 2022: 1}
    assert bars(figure(filled, "year", **{"from": "2022-01-01"})) == {2022: 1, 2023: 2}
    assert bars(figure(filled, "year", to="2021-05-03")) == {2021: 1}  # `to` takes the whole day
    assert bars(figure(filled, "countries", tag="cat")) == {"France": 1, "Japan": 1}
    assert bars(figure(filled, "dominant_color", tag="dog", make="Nikon")) == {"blue": 1}
    assert figure(filled, "tags/top", country="Japan")["layout"]["meta"]["photos"] == {"cat": 1}
    assert figure(filled, "size/static/1000/5", make="Nikon")["data"][0]["y"] == [1, 0, 0, 0, 0]
    assert sum(figure(filled, "altitude", **{"from": "2022-01-01", "to": "2022-12-31"})["data"][0]["y"]) == 1
    assert len(figure(filled, "map", tag="dog")["data"][0]["lat"]) == 2
    # Filters that keep nothing: every chart says so.
    for path in ALL_PATHS:
        assert says_no_data(figure(filled, path, make="Leica")), path


def test_bad_filters_are_400(filled):
    for params in ({"from": "yesterday"}, {"from": "2024-01-02", "to": "2024-01-01"},
                   {"to": "9999-12-31"}, {"make": "Canon\x00"}, {"tag": "x" * 201}):
        response = filled.get("/graph/year", query_string=params)
        assert response.status_code == 400 and response.get_json()["error"] == "invalid_request", params


def test_interval_sizes_are_bounded(filled):
    answer = filled.get("/graph/size/static/" + "9" * 30 + "/5")
    assert answer.status_code == 400 and answer.get_json()["error"] == "bad_option"
    assert filled.get("/graph/size/static/1000000/5").status_code == 200


def test_the_last_representable_day_is_no_inclusive_end():
    # `to` is inclusive: the query asks for the day after it, which 9999-12-31 does not have (was an OverflowError).
    with pytest.raises(ValueError, match="must be a date before 9999-12-31"):
        Filters.model_validate({"to": "9999-12-31"})
    assert Filters.model_validate({"to": "9999-12-30"}).conditions()


def test_filters_parse_and_round_trip():
    filters = Filters.model_validate({"from": "2024-01-01", "to": "2024-02-01T00:00", "country": " FR ", "make": ""})
    assert filters.active and filters.as_params() == {"from": "2024-01-01", "to": "2024-02-01", "country": "FR"}
    assert not Filters.model_validate({}).active


# -- PostgreSQL -------------------------------------------------------------------------------------


@pytest.mark.servers
def test_charts_on_postgresql(postgres_database):
    from mosaic.catalog import open_catalog, upgrade

    engine = open_catalog(postgres_database)
    upgrade(engine)
    try:
        with engine.connect() as connection:
            assert CHARTS["year"].build(connection, Filters()).layout.annotations[0].text == "no data yet"
        populate(engine)
        with engine.connect() as connection:
            def counts(name, filters=Filters(), **options):
                trace = CHARTS[name].build(connection, filters, **options).data[0]
                return dict(zip(trace.x, trace.y, strict=True))

            assert counts("year") == {2021: 1, 2022: 1, 2023: 2}
            assert counts("year", Filters.model_validate({"from": "2022-01-01"})) == {2022: 1, 2023: 2}
            assert counts("brand", Filters(make="canon")) == {"Canon": 2}
            assert counts("countries", Filters(tag="cat")) == {"France": 1, "Japan": 1}
            assert counts("dominant_color") == {"blue": 2, "red": 1, "green": 1}
            assert list(CHARTS["size/static"].build(connection, Filters(), interval_size=1000,
                                                    nb_intervals=5).data[0].y) == [2, 0, 0, 0, 2]
            assert sum(CHARTS["altitude"].build(connection, Filters()).data[0].y) == 3
            together = tags_chart._co_occurrence(connection, Filters(), ["beach", "cat", "dog"])
            assert together.tolist() == CO_OCCURRENCE  # string_agg where SQLite has group_concat
            for name, chart in CHARTS.items():  # every chart runs on PostgreSQL
                assert chart.build(connection, Filters()).data, name
    finally:
        engine.dispose()



def test_a_fresh_app_has_imported_what_plotly_imports_on_the_first_figure(tmp_path):
    # plotly imports pandas lazily inside figure.to_dict(); concurrent first requests of a fresh web worker
    # raced that import (one saw a half-made module: 500s in the load bench). A fresh interpreter, as a worker.
    import subprocess
    import sys

    script = ("import sys, visualize; from mosaic.settings import load_settings; "
              f"visualize.create_app(load_settings(data_dir={str(tmp_path)!r})); print('pandas' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == "True", done.stderr[-2000:]
