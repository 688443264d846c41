"""The harvest pipeline's overall version, written on each image.

Each feature also records the version of the step or model that made it (table `features`);
those per-feature versions are what `mosaic reprocess --stale` compares.
"""

# Bump when the set of steps changes shape (a step added or removed).
PIPELINE_VERSION = 2
