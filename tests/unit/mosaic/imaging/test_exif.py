"""EXIF fields of real photos (values read from the files), and of hand-built broken EXIF blocks."""

import io
import random
import struct
from datetime import datetime

import pytest
from PIL import Image
from sqlalchemy import Boolean, DateTime, Float, Integer, String, Text

from mosaic.catalog.schema import exif as exif_table
from mosaic.imaging.exif import normalise_make, read_exif


def _read(path) -> dict:
    with open(path, "rb") as stream:
        return read_exif(stream)


def _assert_fits_the_table(fields: dict) -> None:
    columns = exif_table.columns
    assert set(fields) <= set(columns.keys()) - {"image_id"}
    for key, value in fields.items():
        kind = columns[key].type
        if isinstance(kind, Boolean):
            assert isinstance(value, bool), key
        elif isinstance(kind, Integer):
            assert isinstance(value, int) and not isinstance(value, bool) and abs(value) < 2**31, key
        elif isinstance(kind, Float):
            assert isinstance(value, float), key
        elif isinstance(kind, DateTime):
            assert isinstance(value, datetime), key
        elif isinstance(kind, String):
            assert isinstance(value, str) and value == value.strip() and "\x00" not in value, key
            assert 0 < len(value) <= (kind.length or len(value)), key
        elif isinstance(kind, Text):
            assert isinstance(value, str) and value, key


@pytest.mark.parametrize("raw, expected", [
    ("NIKON CORPORATION", "Nikon"), ("Nikon", "Nikon"), ("PENTAX             ", "Pentax"),
    ("CASIO COMPUTER CO.,LTD", "Casio"), ("OLYMPUS IMAGING CORP.  ", "Olympus"), ("Apple", "Apple"),
    ("ACME CAMERAS", "Acme Cameras"), ("", None), (None, None), ("\x00\x00", None),
])
def test_camera_makes_are_normalised_for_grouping(raw, expected):
    assert normalise_make(raw) == expected


def test_canon_powershot_exposure(photos_dir):
    dog = _read(photos_dir / "darknet" / "dog.jpg")
    assert (dog["make"], dog["make_raw"], dog["model"]) == ("Canon", "Canon", "Canon PowerShot S95")
    assert dog["exposure_time"] == pytest.approx(1 / 80) and dog["f_number"] == 4.0 and dog["iso"] == 250
    assert dog["focal_length"] == 6.0 and dog["metering_mode"] == "Pattern" and dog["exposure_bias"] == 0.0
    assert dog["taken_at"] == datetime(2014, 9, 19, 16, 8, 30)
    # Flash 24 = 0b11000: not fired, auto mode.
    assert (dog["flash"], dog["flash_fired"], dog["flash_mode"]) == (24, False, "auto mode")
    assert dog["flash_returned_light"] == "no strobe return detection function"
    assert "description" not in dog  # the camera wrote 31 spaces
    _assert_fits_the_table(dog)


def test_iphone_gps_altitude_lens_and_flash(photos_dir):
    iphone = _read(photos_dir / "exif" / "IMG_0001.JPG")
    assert (iphone["make"], iphone["model"], iphone["orientation"]) == ("Apple", "iPhone 6 Plus", 6)
    # 40° 0' 14.71" N, 116° 29' 5.21" E (Beijing), 6531/169 m above sea level.
    assert iphone["gps_latitude"] == pytest.approx(40 + 14.71 / 3600) and iphone["gps_latitude_ref"] == "N"
    assert iphone["gps_longitude"] == pytest.approx(116 + 29 / 60 + 5.21 / 3600)
    assert (iphone["gps_longitude_degrees"], iphone["gps_longitude_minutes"]) == (116.0, 29.0)
    assert iphone["gps_longitude_seconds"] == pytest.approx(5.21) and iphone["gps_longitude_ref"] == "E"
    assert iphone["gps_altitude"] == pytest.approx(6531 / 169)
    assert iphone["exposure_time"] == pytest.approx(1 / 989) and iphone["f_number"] == 2.2 and iphone["iso"] == 32
    assert iphone["focal_length_35mm"] == 39 and iphone["exposure_program"] == "Program Normal"
    assert iphone["subsec_time_original"] == "308"
    assert (iphone["flash"], iphone["flash_fired"], iphone["flash_mode"]) == (25, True, "auto mode")
    assert (iphone["lens_make"], iphone["lens_model"]) == ("Apple", "iPhone 6 Plus back camera 4.15mm f/2.2")
    lens = [iphone[f"lens_{part}"] for part in ("min_focal", "max_focal", "min_fnumber", "max_fnumber")]
    assert lens == pytest.approx([4.15, 4.15, 2.2, 2.2])
    _assert_fits_the_table(iphone)


def test_nokia_gps_with_dop(photos_dir):
    starfish = _read(photos_dir / "exif" / "starfish.jpg")
    assert starfish["make"] == "Nokia" and starfish["model"] == "Lumia 820"
    assert starfish["gps_latitude"] == pytest.approx(55 + 2 / 60 + 19.521 / 3600)
    assert starfish["gps_longitude"] == pytest.approx(8 + 27 / 60 + 25.886 / 3600)
    assert starfish["gps_dop"] == 0.125 and starfish["gps_altitude"] == 0.05
    assert "datetime" not in starfish and starfish["taken_at"] == datetime(2013, 5, 10, 15, 21, 35)


def test_lightroom_edit_keeps_the_original_date_lens_and_copyright(photos_dir):
    kite = _read(photos_dir / "darknet" / "kite.jpg")
    assert kite["taken_at"] == kite["datetime_original"] == datetime(2010, 6, 6, 12, 27, 25)
    assert kite["datetime"] == datetime(2017, 6, 7, 22, 37, 27)  # when Lightroom wrote the file
    assert kite["copyright"] == "© H. Michael Miley" and kite["description"] == "South Haven, Day 3"
    assert kite["exposure_bias"] == pytest.approx(1 / 3) and kite["subsec_time_original"] == "11"
    # LensSpecification [28, 75, 0, 0]: the f-numbers are unknown, so left out.
    assert (kite["lens_min_focal"], kite["lens_max_focal"]) == (28.0, 75.0)
    assert "lens_min_fnumber" not in kite and "lens_max_fnumber" not in kite
    assert kite["focal_plane_x_resolution"] == pytest.approx(5315.436, abs=0.001)


@pytest.mark.parametrize("name, make, make_raw, model", [
    ("r_canon", "Canon", "Canon", "Canon PowerShot G1 X Mark II"),
    ("r_casio", "Casio", "CASIO COMPUTER CO.,LTD.", "EX-100"),
    ("r_olympus", "Olympus", "OLYMPUS IMAGING CORP.", "STYLUS1"),
    ("r_pana", "Panasonic", "Panasonic", "DMC-L10"),
    ("r_pen", "Olympus", "OLYMPUS IMAGING CORP.", "E-P3"),
    ("r_ricoh", "Ricoh", "PENTAX RICOH IMAGING", "GR"),
    ("r_sigma", "Sigma", "SIGMA", "SIGMA DP3 Merrill"),
    ("r_sony", "Sony", "SONY", "DSC-RX1R"),
])
def test_camera_makes_of_real_cameras(photos_dir, name, make, make_raw, model):
    fields = _read(photos_dir / "piexif" / f"{name}.jpg")
    assert (fields["make"], fields["make_raw"], fields["model"]) == (make, make_raw, model)
    _assert_fits_the_table(fields)


def test_lens_fields_of_real_cameras(photos_dir):
    sony = _read(photos_dir / "piexif" / "r_sony.jpg")
    assert [sony["lens_min_focal"], sony["lens_max_focal"], sony["lens_min_fnumber"], sony["lens_max_fnumber"]] == [
        35.0, 35.0, 2.0, 2.0]
    ricoh = _read(photos_dir / "piexif" / "r_ricoh.jpg")
    assert (ricoh["lens_make"], ricoh["lens_model"]) == ("PENTAX RICOH IMAGING", "GR LENS")
    assert ricoh["lens_min_focal"] == ricoh["lens_max_focal"] == 18.3
    assert ricoh["metering_mode"] == "CenterWeightedAverage" and ricoh["exposure_bias"] == 1.5
    olympus = _read(photos_dir / "piexif" / "r_olympus.jpg")
    # LensSpecification [0/0, 0/0, 0/0, 0/0] and an empty LensModel: unknown, so absent.
    assert not {key for key in olympus if key.startswith("lens_")}
    assert "description" not in olympus  # "OLYMPUS DIGITAL CAMERA" is boilerplate, not a caption
    pen = _read(photos_dir / "piexif" / "r_pen.jpg")
    # Flash 8: no "fired" bit, mode bits 01. exifread has no name for it; the bits still decode.
    assert (pen["flash"], pen["flash_fired"], pen["flash_mode"]) == (8, False, "compulsory flash firing")
    sigma = _read(photos_dir / "piexif" / "r_sigma.jpg")
    assert sigma["taken_at"] == datetime(2012, 12, 28, 15, 25, 17) and sigma["exposure_bias"] == -1.3


def test_exif_tags_written_into_ifd0_of_a_tiff(photos_dir):
    # paint.net put the EXIF tags in the TIFF's IFD0 rather than an EXIF IFD.
    tif = _read(photos_dir / "piexif" / "01.tif")
    assert (tif["make"], tif["model"], tif["software"]) == ("Casio", "QV-R51", "paint.net 4.0.3")
    assert tif["exposure_time"] == pytest.approx(1 / 160) and tif["f_number"] == 6.2
    assert (tif["image_width"], tif["image_height"], tif["bits_per_sample"]) == (300, 400, 8)
    assert tif["exposure_program"] == "Landscape Mode" and tif["focal_length_35mm"] == 69


def test_odd_values_of_the_piexif_test_file(photos_dir):
    odd = _read(photos_dir / "piexif" / "01.jpg")
    assert odd["make"] == "Make" and odd["model"] == "XXX-XXX"
    # ISOSpeed 0xFFFFFFFF would overflow an Integer column; GPSLatitude is a lone LONG, not 3 rationals;
    # GPSAltitudeRef = 1 comes without an altitude.
    assert not {"iso", "gps_latitude", "gps_latitude_degrees", "gps_altitude"} & set(odd)
    assert odd["exposure_bias"] == pytest.approx(-1.0)
    _assert_fits_the_table(odd)


def test_every_piexif_file_reads_without_raising(photos_dir):
    for path in sorted((photos_dir / "piexif").iterdir()):
        fields = _read(path)
        assert isinstance(fields, dict)
        _assert_fits_the_table(fields)
    assert _read(photos_dir / "piexif" / "notjpeg.jpg") == {}  # 0 bytes
    assert _read(photos_dir / "piexif" / "noexif.jpg") == {}


# --- hand-built EXIF (generated: every byte below is written by these helpers) ---

ASCII, SHORT, LONG, RATIONAL, SRATIONAL = 2, 3, 4, 5, 10


def _ascii(text: str) -> tuple[int, int, bytes]:
    data = text.encode() + b"\x00"
    return ASCII, len(data), data


def _rationals(*pairs: tuple[int, int], signed: bool = False) -> tuple[int, int, bytes]:
    fmt = "<ii" if signed else "<II"
    return (SRATIONAL if signed else RATIONAL), len(pairs), b"".join(struct.pack(fmt, *pair) for pair in pairs)


def _short(value: int) -> tuple[int, int, bytes]:
    return SHORT, 1, struct.pack("<H", value)


def _tiff(ifd0: dict, exif: dict | None = None, gps: dict | None = None) -> bytes:
    """A little-endian TIFF header with IFD0, an EXIF IFD and a GPS IFD. An int value is written as the raw
    offset field (to point anywhere, e.g. past the end); (type, count, bytes) values are laid out properly."""
    ifd0 = dict(ifd0)
    if exif is not None:
        ifd0[0x8769] = None  # filled below
    if gps is not None:
        ifd0[0x8825] = None
    ifds = [ifd0] + [ifd for ifd in (exif, gps) if ifd is not None]
    starts, position = [], 8
    for ifd in ifds:
        starts.append(position)
        position += 2 + 12 * len(ifd) + 4
    data_at = position
    if exif is not None:
        ifd0[0x8769] = (LONG, 1, struct.pack("<I", starts[1]))
    if gps is not None:
        ifd0[0x8825] = (LONG, 1, struct.pack("<I", starts[-1]))
    tables, data = b"", b""
    for ifd in ifds:
        tables += struct.pack("<H", len(ifd))
        for tag, value in sorted(ifd.items()):
            if isinstance(value, tuple) and len(value) == 4:  # (type, count, bytes, raw offset): a lie
                kind, count, _, offset = value
                tables += struct.pack("<HHII", tag, kind, count, offset)
            elif isinstance(value, tuple):
                kind, count, payload = value
                if len(payload) <= 4:
                    tables += struct.pack("<HHI", tag, kind, count) + payload.ljust(4, b"\x00")
                else:
                    tables += struct.pack("<HHII", tag, kind, count, data_at + len(data))
                    data += payload + b"\x00" * (len(payload) % 2)
        tables += b"\x00\x00\x00\x00"
    return b"II*\x00" + struct.pack("<I", 8) + tables + data


def _jpeg_with_exif(tiff: bytes) -> io.BytesIO:
    plain = io.BytesIO()
    Image.new("RGB", (16, 16), (90, 120, 150)).save(plain, "JPEG")
    segment = b"Exif\x00\x00" + tiff
    app1 = b"\xff\xe1" + struct.pack(">H", len(segment) + 2) + segment
    return io.BytesIO(b"\xff\xd8" + app1 + plain.getvalue()[2:])


def test_hand_built_exif_reads_back():
    tiff = _tiff(
        {0x010F: _ascii("NIKON CORPORATION\x00junk"), 0x0110: _ascii("  D750  "), 0x0112: _short(3)},
        exif={0x829A: _rationals((1, 250)), 0x829D: _rationals((28, 10)), 0x9003: _ascii("2019:02:28 10:00:00"),
              0x9204: _rationals((-2, 3), signed=True), 0x9209: _short(0x1F), 0x8827: _short(65535),
              0x8832: (LONG, 1, struct.pack("<I", 102400))},
        gps={0x0001: _ascii("S"), 0x0002: _rationals((33, 1), (51, 1), (3540, 100)), 0x0003: _ascii("W"),
             0x0004: _rationals((151, 1), (12, 1), (0, 1)), 0x0005: (1, 1, b"\x01"), 0x0006: _rationals((105, 10))},
    )
    fields = read_exif(_jpeg_with_exif(tiff))
    assert (fields["make"], fields["make_raw"], fields["model"], fields["orientation"]) == (
        "Nikon", "NIKON CORPORATION", "D750", 3)
    assert fields["exposure_time"] == 0.004 and fields["f_number"] == 2.8
    assert fields["exposure_bias"] == pytest.approx(-2 / 3)
    assert fields["iso"] == 102400  # ISOSpeedRatings saturates at 65535; the ISOSpeed tag has the real value
    assert fields["taken_at"] == datetime(2019, 2, 28, 10, 0, 0)
    # 0x1F: fired, return light detected (bits 1-2 = 11), auto mode (bits 3-4 = 11).
    assert (fields["flash_fired"], fields["flash_returned_light"], fields["flash_mode"]) == (
        True, "strobe return light detected", "auto mode")
    assert fields["gps_latitude"] == pytest.approx(-(33 + 51 / 60 + 35.4 / 3600)) and fields["gps_latitude_ref"] == "S"
    assert fields["gps_longitude"] == pytest.approx(-(151 + 12 / 60))
    assert fields["gps_altitude"] == -10.5  # GPSAltitudeRef 1: below sea level
    _assert_fits_the_table(fields)


def test_zero_denominators_and_impossible_dates_are_left_out():
    zero = _rationals((0, 0))
    tiff = _tiff(
        {0x010F: _ascii("Canon"), 0x0132: _ascii("0000:00:00 00:00:00")},
        exif={0x829A: zero, 0x829D: _rationals((5, 0)), 0x920A: zero, 0x9003: _ascii("2019:02:30 10:00:00"),
              0x9004: _ascii("    :  :     :  :  "), 0xA432: _rationals((0, 0), (0, 0), (0, 0), (0, 0))},
        gps={0x0001: _ascii("N"), 0x0002: _rationals((51, 1), (0, 0), (10, 1)), 0x0006: zero},
    )
    fields = read_exif(_jpeg_with_exif(tiff))
    assert fields == {"make": "Canon", "make_raw": "Canon"}


@pytest.mark.parametrize("broken", [
    # An ASCII and a RATIONAL whose offsets point far past the end of the file.
    _tiff({0x010F: (ASCII, 40, b"", 0x7FFF0000)}, exif={0x829A: (RATIONAL, 1, b"", 0xFFFFFFF0)}),
    # The EXIF IFD pointer aims at IFD0 itself (a loop) and the GPS pointer past the end.
    _tiff({0x8769: (LONG, 1, b"", 8), 0x8825: (LONG, 1, b"", 0x00FFFFFF), 0x010F: _ascii("Sony")}),
    # Counts of four billion values.
    _tiff({0x0110: (ASCII, 0xFFFFFFFF, b"", 8)}, exif={0xA432: (RATIONAL, 0xFFFFFFFF, b"", 8)}),
    # Truncated: the IFD promises 60 entries, the block ends after two.
    _tiff({0x010F: _ascii("Pentax"), 0x0110: _ascii("K-5")})[:8] + struct.pack("<H", 60) + b"\x0f\x01\x02\x00",
    # Not even a whole header.
    b"II*\x00\x08",
    b"MM\x00*\xff\xff\xff\xff",
])
def test_broken_exif_never_raises(broken):
    fields = read_exif(_jpeg_with_exif(broken))
    assert isinstance(fields, dict)
    _assert_fits_the_table(fields)


def test_randomly_damaged_exif_of_a_real_photo_never_raises(photos_dir):
    # Deterministic fuzzing: flip bytes inside the APP1 segment of the iPhone photo.
    original = (photos_dir / "exif" / "IMG_0001.JPG").read_bytes()
    app1_end = 4 + struct.unpack(">H", original[4:6])[0]
    rng = random.Random(20240601)
    for _ in range(300):
        damaged = bytearray(original[:app1_end + 2000])
        for _ in range(rng.randint(1, 12)):
            damaged[rng.randrange(12, app1_end)] = rng.randrange(256)
        fields = read_exif(io.BytesIO(bytes(damaged)))
        _assert_fits_the_table(fields)
