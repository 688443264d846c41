#!/usr/bin/env bash
# Fetch real test photos, only from package registries (Debian, npm, PyPI), so CI needs no other
# internet access and the files are pinned by package version.
#
#   DEST/darknet/*.jpg     darknet's sample photos (dog, person, horses, ...): plain JPEGs for the pipeline
#   DEST/exif/starfish.jpg exif-parser 0.1.12: phone photo with GPS
#   DEST/exif/IMG_0001.JPG jpeg-exif 1.1.4: iPhone photo with GPS, altitude and Orientation 6
#   DEST/piexif/*          piexif 1.1.3 test images, deliberately including broken / EXIF-less files
#
# Usage: scripts/fetch-test-photos.sh [DEST]   (default .cache/photos; does nothing when complete)
set -euo pipefail

DEST=${1:-.cache/photos}
PYTHON=${PYTHON:-python3}
MARKER="$DEST/.complete"   # written last, so an interrupted run is redone

summary() {
  echo "test photos in $DEST: $(find "$DEST/darknet" -type f | wc -l) darknet," \
    "$(find "$DEST/exif" -type f | wc -l) exif, $(find "$DEST/piexif" -type f | wc -l) piexif"
}

if [[ -f "$MARKER" ]]; then
  summary
  exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# apt's download sandbox user (_apt) must be able to write into the temp dir.
chmod 755 "$work"
cd_work() { (cd "$work" && "$@"); }

# Debian: darknet ships the classic YOLO sample photos in /usr/share/darknet/data.
if ! cd_work apt-get download -q darknet >/dev/null 2>&1; then
  apt-get update -q >/dev/null   # fresh machines have no package lists yet
  cd_work apt-get download -q darknet >/dev/null
fi
dpkg-deb -x "$work"/darknet_*.deb "$work/darknet"

# npm: JPEGs with GPS and orientation from two EXIF parsers' test suites.
cd_work npm pack --silent exif-parser@0.1.12 jpeg-exif@1.1.4 >/dev/null
for pkg in exif-parser-0.1.12 jpeg-exif-1.1.4; do
  mkdir "$work/$pkg"
  tar -xzf "$work/$pkg.tgz" -C "$work/$pkg" --no-same-owner --strip-components=1
done

# PyPI: piexif's sdist carries its test images; --no-binary because the wheel has no tests.
"$PYTHON" -m pip download -q --no-deps --no-binary :all: piexif==1.1.3 -d "$work"
"$PYTHON" -m zipfile -e "$work/piexif-1.1.3.zip" "$work"

mkdir -p "$DEST/darknet" "$DEST/exif" "$DEST/piexif"
cp "$work"/darknet/usr/share/darknet/data/*.jpg "$DEST/darknet/"
cp "$work/exif-parser-0.1.12/test/starfish.jpg" "$work/jpeg-exif-1.1.4/test/IMG_0001.JPG" "$DEST/exif/"
cp "$work"/piexif-1.1.3/tests/images/* "$DEST/piexif/"
touch "$MARKER"
summary
