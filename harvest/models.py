"""What harvest's endpoints take and answer (their contracts: harvest/views.py)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import ConfigDict, Field

from mosaic.contract import Answer, Body


class Rendition(Answer):
    url: str
    width: int
    height: int
    bytes: int
    mime: str


class Detected(Answer):
    label: str
    score: float
    box: list[float] = Field(description="x_min, y_min, x_max, y_max as fractions of the width and height")


class Scene(Answer):
    label: str
    score: float


class FailedStep(Answer):
    version: str
    error: str
    at: str


class ImageDetails(Answer):
    """Everything the catalog knows about one image: its catalog row's columns, then what each step made."""

    model_config = ConfigDict(extra="allow")  # the images table's columns

    id: str
    state: str
    exif: dict[str, Any] | None
    colours: list[dict[str, Any]]
    objects: list[Detected]
    scenes: list[Scene]
    tags: list[dict[str, Any]]
    fingerprints: dict[str, str]
    place: dict[str, Any] | None
    renditions: dict[str, Rendition]
    url: str
    features: dict[str, str] = Field(description="the version of each step that made this photo's features")
    failed_steps: dict[str, FailedStep] = Field(description="steps that raised on this photo, with the reason")


class Waiting(Answer):
    id: str
    name: str | None
    state: str
    since: str


class Failure(Answer):
    id: str
    name: str | None
    reason: str | None
    at: str


class StepFailure(Answer):
    step: str
    photos: int
    version: str
    reason: str | None
    latest: str | None


class DeadLetter(Answer):
    body: Any
    error: str | None
    attempts: int


class QueueState(Answer):
    depth: int | None
    dead_count: int | None
    dead: list[DeadLetter]


class BatchCounts(Answer):
    batch: str
    counts: dict[str, int]


class PipelineStatus(Answer):
    """What can be read: while the catalog or the queue is down, its half is null or empty and
    `unavailable` names it."""

    counts: dict[str, int] = Field(description="photos by state, the trash left out")
    total: int | None
    trash: int | None = Field(description="photos in the trash (purged ones are gone)")
    rate_per_minute: float | None
    oldest_waiting: Waiting | None
    recent_failures: list[Failure]
    step_failures: list[StepFailure] = Field(description='"objects failed on 25 photos: <reason>"')
    degraded: dict[str, str] = Field(description="features the workers cannot make (a model that did not load)")
    dead_letters: int | None
    queues: dict[str, QueueState]
    batches: list[BatchCounts]
    unavailable: dict[str, str]


class Retried(Answer):
    retried: int = Field(description="failed photos and dead-lettered messages sent through again")
    dispatched: int


class Dispatched(Answer):
    dispatched: int


class Reprocess(Body):
    ids: list[Annotated[str, Field(min_length=1, max_length=64)]] | None = Field(
        None, min_length=1, max_length=10_000, description="these images only (all of them when left out)")
    stale: bool = Field(False, description="only images with a missing, older or failed step")


class Marked(Answer):
    marked: int
