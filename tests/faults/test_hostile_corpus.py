"""A hostile corpus, generated here, uploaded with good photos in one batch to a real `mosaic run` (issue 12).

Bombs by header and by chunk, 16-bit and palette PNG giants, truncated JPEGs closed with an end marker,
polyglots, a 1000-frame GIF, garbage EXIF, traversal and 300-character names. Each file is ingested or
refused with a reason (at the upload, or by the worker as a failed photo), the good files of the same batch
are indexed, the harvest worker's peak RSS (VmHWM, over its whole life) stays under the 600 MB budget, and
thumbnails of a giant still waiting for its worker cost the gateway nothing (it never decodes). The peaks of
every process of the run are printed.
"""

from __future__ import annotations

import io
import random
import re
import struct
import zipfile
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil
import requests
from PIL import Image

from tests.platform import running_platform, wait_for_states

WORKER_BUDGET_MB = 600
GATEWAY_BUDGET_MB = 300
EOI = b"\xff\xd9"


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _png(width: int, height: int, depth: int, colour_type: int, idat: bytes, extra: bytes = b"",
         interlace: int = 0) -> bytes:
    header = struct.pack(">IIBBBBB", width, height, depth, colour_type, 0, 0, interlace)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + extra + _chunk(b"IDAT", idat)
            + _chunk(b"IEND", b""))


def _rows(width: int, height: int, pixel: bytes) -> bytes:
    """The compressed rows of a picture of one colour: a few hundred kB for gigabytes of pixels."""
    compressor = zlib.compressobj(6)
    row = b"\x00" + pixel * width
    return b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()


def _jpeg(image: Image.Image, **options) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85, **options)
    return out.getvalue()


def _gif(frames: list[Image.Image], **options) -> bytes:
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=len(frames) > 1, append_images=frames[1:], duration=40, **options)
    return out.getvalue()


def _corpus(photos_dir: Path) -> dict[str, tuple[bytes, str, str]]:
    """name -> (bytes, expected outcome, what its reason says): rejected at upload, failed in the worker, indexed."""
    photos = {name: (photos_dir / "darknet" / name).read_bytes()
              for name in ("dog.jpg", "eagle.jpg", "giraffe.jpg", "horses.jpg", "kite.jpg", "person.jpg", "scream.jpg")}
    pictures = {name: Image.open(io.BytesIO(data)).convert("RGB") for name, data in photos.items()}
    rng = random.Random(12)

    def variant(name: str, side: int) -> bytes:  # distinct bytes from one photo, so none is a duplicate
        copy = pictures[name].copy()
        copy.thumbnail((side, side))
        return _jpeg(copy)

    text_bomb = zlib.compress(b"\x00" * (64 * 1024 * 1024), 9)
    small_pixels = zlib.compress((b"\x00" + b"\x80" * 96) * 32)
    sof = photos["kite.jpg"].index(b"\xff\xc0")
    header_bomb_jpeg = bytearray(photos["kite.jpg"])
    header_bomb_jpeg[sof + 5:sof + 9] = struct.pack(">HH", 65_000, 65_000)  # SOF0 height, width
    progressive = _jpeg(pictures["horses.jpg"], progressive=True)
    exif_junk = bytes(rng.randrange(256) for _ in range(3000))
    garbage_exif = (photos["scream.jpg"][:2] + b"\xff\xe1" + struct.pack(">H", len(exif_junk) + 8) + b"Exif\x00\x00"
                    + exif_junk + photos["scream.jpg"][2:])
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("payload/readme.txt", "a zip inside a JPEG")
    html = b"<html><body><script>alert(document.domain)</script></body></html>"
    gif_html = _gif([Image.new("P", (64, 64), 3)], comment=html) + html
    frames = [Image.new("P", (64, 64), i % 200) for i in range(1000)]
    palette = _chunk(b"PLTE", bytes([0, 0, 0, 30, 160, 90]))

    return {
        # bombs by header: refused at the upload, nothing decoded
        "bomb-header.png": (_png(50_000, 50_000, 8, 2, zlib.compress(b"\x00" * 64)), "rejected", "pixels"),
        "bomb-header.jpg": (bytes(header_bomb_jpeg), "rejected", "pixels"),
        # bombs by chunk: text and colour-profile chunks of 64 MB in 64 kB; pixel data far beyond the picture
        "bomb-ztxt.png": (_png(32, 32, 8, 2, small_pixels, _chunk(b"zTXt", b"c\x00\x00" + text_bomb)),
                          "rejected", "corrupt"),
        "bomb-iccp.png": (_png(32, 32, 8, 2, small_pixels, _chunk(b"iCCP", b"p\x00\x00" + text_bomb)),
                          "rejected", "corrupt"),
        "bomb-idat.png": (_png(2000, 2000, 8, 0, zlib.compress(b"\x00" * (256 * 1024 * 1024), 9)), "indexed", ""),
        # giants: 118.8 MP each, a few hundred kB on disk; 1.1 GB, 0.5 GB and 0.6 GB of decode before the fix
        "giant-grey16.png": (_png(10_900, 10_900, 16, 0, _rows(10_900, 10_900, b"\x80\x80")), "indexed", ""),
        "giant-rgb8.png": (_png(10_900, 10_900, 8, 2, _rows(10_900, 10_900, b"\xc8\x64\x32")), "indexed", ""),
        "giant-palette.png": (_png(10_900, 10_900, 8, 3, _rows(10_900, 10_900, b"\x01"), palette), "indexed", ""),
        # interlaced: decoded whole, so over the decode budget; refused from its header by the worker
        "giant-interlaced.png": (_png(9000, 9000, 8, 2, zlib.compress(b"\x00" * 64), interlace=1),
                                 "failed", "too large to decode"),
        # truncated, then closed with an end marker: libjpeg would pad them with grey
        "cut-baseline.jpg": (photos["person.jpg"][: len(photos["person.jpg"]) // 2] + EOI, "failed", "truncated"),
        "cut-progressive.jpg": (progressive[: len(progressive) * 9 // 10] + EOI, "failed", "truncated"),
        # polyglots: the picture part is a fine image; the CDN serves it as its image type, never sniffed
        "polyglot-jpeg-zip.jpg": (photos["giraffe.jpg"] + archive.getvalue(), "indexed", ""),
        "polyglot-gif-html.gif": (gif_html, "indexed", ""),
        "frames-1000.gif": (_gif(frames, loop=0), "indexed", ""),
        "garbage-exif.jpg": (garbage_exif, "indexed", ""),
        # names: shown by their last part, bounded; never used as paths
        "../../etc/passwd.jpg": (variant("dog.jpg", 700), "indexed", ""),
        "..\\..\\windows\\win.ini.jpg": (variant("eagle.jpg", 700), "indexed", ""),
        "n" * 296 + ".jpg": (variant("kite.jpg", 700), "indexed", ""),
        # the good photos of the batch
        "good-dog.jpg": (photos["dog.jpg"], "indexed", ""),
        "good-eagle.jpg": (photos["eagle.jpg"], "indexed", ""),
        "good-horses.jpg": (photos["horses.jpg"], "indexed", ""),
    }


def _run_processes(data_dir: Path) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter():
        try:
            if process.environ().get("MOSAIC_DATA_DIR") == str(data_dir):
                found.append(process)
        except psutil.Error:
            continue
    return found


def _peak_mb(process: psutil.Process) -> float:
    with open(f"/proc/{process.pid}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) / 1024


def test_hostile_corpus_in_one_batch(tmp_path, photos_dir):
    corpus = _corpus(photos_dir)
    data_dir = tmp_path / "data"
    with running_platform(data_dir) as base:
        workers = [p for p in _run_processes(data_dir) if "harvest-worker" in p.cmdline()]
        assert workers, "no harvest worker found"
        response = requests.post(f"{base}/gather/uploads", timeout=120,
                                 files=[("files", (name, data)) for name, (data, _, _) in corpus.items()])
        assert response.status_code == 201, response.text
        assert not re.search(r"\d", response.headers.get("Server", "")), response.headers["Server"]  # no versions
        results = response.json()["files"]
        assert len(results) == len(corpus)
        outcome = {}
        for name, result in zip(corpus, results, strict=True):
            _, expected, reason = corpus[name]
            shown = result["name"]  # a name to show, never a path: no separator, no parent, bounded
            assert not {"/", "\\"} & set(shown) and shown not in ("..", ".") and 0 < len(shown) <= 255, result
            if expected == "rejected":
                assert result["status"] == "rejected" and re.search(reason, result["reason"], re.I), (name, result)
            else:
                assert result["status"] == "stored", (name, result)
                outcome[name] = result["id"]

        # Four thumbnails of a pending giant at once took the gateway to 4.5 GB when it made them itself.
        giant = f"{base}/cdn/show/{outcome['giant-grey16.png']}?size=thumb"
        with ThreadPoolExecutor(4) as pool:
            thumbs = list(pool.map(lambda _: requests.get(giant, timeout=30), range(4)))
        assert all(thumb.status_code in (200, 202) for thumb in thumbs), [t.status_code for t in thumbs]

        records = wait_for_states(base, list(outcome.values()), {"indexed", "failed"}, timeout=150)
        for name, image_id in outcome.items():
            _, expected, reason = corpus[name]
            record = records[image_id]
            assert record["state"] == expected, (name, record.get("state"), record.get("error"))
            if expected == "failed":
                assert re.search(reason, record["error"], re.I), (name, record["error"])

        gif = requests.get(f"{base}/cdn/show/{outcome['polyglot-gif-html.gif']}", timeout=10)
        assert gif.headers["Content-Type"] == "image/gif" and gif.headers["X-Content-Type-Options"] == "nosniff"

        peaks = {}
        for process in _run_processes(data_dir):
            try:
                label = next((verb for verb in ("harvest-worker", "processor", "dispatcher", "import-worker")
                              if verb in process.cmdline()), process.name())
                peaks[f"{label} ({process.pid})"] = _peak_mb(process)
            except (psutil.Error, OSError):
                continue
        print("peak RSS (VmHWM) of the run's processes:",
              ", ".join(f"{name} {mb:.0f} MB" for name, mb in sorted(peaks.items())))
        for worker in workers:
            assert worker.is_running(), "the harvest worker died on the corpus"
            assert _peak_mb(worker) <= WORKER_BUDGET_MB, peaks
        # Nothing but the processes holding models (and Milvus) needs more than a small web server's memory.
        heavy = ("harvest-worker", "processor", "milvus")
        light = {name: mb for name, mb in peaks.items() if not name.startswith(heavy)}
        assert all(mb < GATEWAY_BUDGET_MB for mb in light.values()), light
