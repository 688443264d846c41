"""What a discovery request can fail on, whichever module finds it (answered by mosaic.web: 404, 409)."""

from __future__ import annotations

from mosaic.errors import Conflict, NotFound


class UnknownImage(NotFound):
    """No such image (or, resolving a duplicate group, no current group with that id)."""


class NotReady(Conflict):
    """The image exists but lacks what the request needs yet (fingerprints, embedding)."""

    code = "not_indexed"
