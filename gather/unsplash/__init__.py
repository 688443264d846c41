"""The Unsplash Lite/Full datasets: a streaming reader of the published files and the metadata import."""

from gather.unsplash.metadata import MetadataResult, import_metadata, link_image, photo_downloads
from gather.unsplash.reader import BadRow, DatasetError, Row, find_parts, read

__all__ = ["BadRow", "DatasetError", "MetadataResult", "Row", "find_parts", "import_metadata", "link_image",
           "photo_downloads", "read"]
