"""Versions of the code that makes each feature: a bump reprocesses only what is stale."""

# Bump when the harvest pipeline's output changes (EXIF fields, colours, decode rules).
PIPELINE_VERSION = 1
# Bump when the vectors written by the processor change meaning or size.
INDEX_VERSION = 1
