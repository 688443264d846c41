"""Every version that decides whether a photo's features are current, in one place.

Each feature records the version of the step that made it (table `features`); `mosaic reprocess --stale`
re-runs a step whose recorded version differs from the one here, and the vectors made from its output.
Bump a step's version when its output changes for the same photo. The models' versions (the detector,
the scene classifier, the embedder) are their own names and weights, given by their modules.
"""

# Bump when the set of steps changes shape (a step added or removed); written on each image.
PIPELINE_VERSION = 2

DECODE = "2"  # the working copy every pixel step reads
EXIF = "1"
COLOURS = "2"
FINGERPRINTS = "1"
PLACE = "1"
RENDITIONS = "1"
STYLE_VECTOR = "2"
FINGERPRINT_VECTOR = "1"
