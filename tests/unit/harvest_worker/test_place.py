"""Offline reverse geocoding of real photos' GPS and of known points."""

import dataclasses

import pytest

from harvest_worker.place import Place, haversine_km, locate
from mosaic.imaging.exif import read_exif
from mosaic.versions import PLACE as VERSION


def _gps(path):
    with path.open("rb") as stream:
        exif = read_exif(stream)
    return exif["gps_latitude"], exif["gps_longitude"], exif.get("gps_altitude")


def test_real_photos_resolve_to_their_town(photos_dir):
    lat, lon, alt = _gps(photos_dir / "exif" / "starfish.jpg")
    place = locate(lat, lon, alt)
    # The northern tip of Sylt.
    assert (place.country_code, place.country, place.city) == ("DE", "Germany", "List")
    assert place.altitude == pytest.approx(0.05)
    assert (place.latitude, place.longitude) == (lat, lon)
    assert place.city_distance_km < 5

    lat, lon, alt = _gps(photos_dir / "exif" / "IMG_0001.JPG")
    place = locate(lat, lon, alt)
    # North-east Beijing; GeoNames' nearest place there is the Chaowai subdistrict.
    assert (place.country_code, place.country) == ("CN", "China")
    assert place.city
    assert place.city_distance_km < 20
    assert place.altitude == pytest.approx(38.645, abs=0.01)


def test_known_city():
    place = locate(48.8566, 2.3522)
    assert (place.country_code, place.country, place.city) == ("FR", "France", "Paris")
    assert place.city_distance_km < 2
    assert place.altitude is None


def test_open_sea_keeps_coordinates_but_names_nothing():
    place = locate(0.0, -140.0, altitude=-3)
    assert place == Place(0.0, -140.0, -3.0)
    assert place.country is None and place.city is None and place.country_code is None
    # The same point names its nearest town once the radius reaches it (Marquesas, ~990 km).
    assert locate(0.0, -140.0, max_km=2000).country_code == "PF"


@pytest.mark.parametrize(
    "lat, lon",
    [(95, 0), (-90.5, 0), (0, 180.5), (0, -181), (None, 2.35), (48.85, None), (float("nan"), 0), ("x", 0)],
)
def test_impossible_positions_are_none(lat, lon):
    assert locate(lat, lon) is None


def test_place_is_frozen_and_distance_is_great_circle():
    with pytest.raises(dataclasses.FrozenInstanceError):
        locate(48.8566, 2.3522).city = "Lyon"
    # Paris - London, ~344 km.
    assert haversine_km(48.8566, 2.3522, 51.5074, -0.1278) == pytest.approx(343.5, abs=1.5)
    assert VERSION == "1"
