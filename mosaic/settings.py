"""The one typed settings object. Every value comes from a `MOSAIC_*` environment variable (or `.env`).

Backends are chosen by URL, so the same code runs on embedded files and on real servers:

- catalog: `sqlite:///path` (default `<data_dir>/catalog.db`) or `postgresql://user:pass@host/db`
- objects: a local directory (default `<data_dir>/objects`, also `file:///path`) or `s3://bucket`
  with `MOSAIC_S3_ENDPOINT` and keys (MinIO or any S3 server)
- queue:   `local:///path` (default `<data_dir>/queue.db`) or `amqp://user:pass@host:5672/vhost`
- vectors: a Milvus Lite file (default `<data_dir>/vectors.db`) or `http://host:19530`
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from urllib.parse import urlparse

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ENV_PREFIX = "MOSAIC_"


class SettingsError(RuntimeError):
    """Raised at start when a setting is wrong or missing; the message names the variable."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, env_file=".env", extra="ignore")

    data_dir: Path = Field(Path("var"), description="Folder holding every embedded file")
    catalog_url: str = Field("", description="sqlite:///… (default <data_dir>/catalog.db) or postgresql://…")
    objects_url: str = Field("", description="Local folder (default <data_dir>/objects) or s3://bucket")
    queue_url: str = Field("", description="local:///… (default <data_dir>/queue.db) or amqp://…")
    vectors_url: str = Field("", description="Milvus Lite file (default <data_dir>/vectors.db) or http://host:19530")

    s3_endpoint: str = Field("", description="host:port of the S3/MinIO server for s3:// objects")
    s3_access_key: str = ""
    s3_secret_key: SecretStr = SecretStr("")
    s3_secure: bool = Field(False, description="Use https to reach the S3 endpoint")
    s3_region: str = "us-east-1"

    host: str = "127.0.0.1"
    port: int = Field(8080, ge=1, le=65535)
    vectors_port: int = Field(19531, ge=1, le=65535, description="Port of the local Milvus Lite server")

    max_upload_bytes: int = Field(50 * 1024 * 1024, gt=0, description="Largest single file accepted")
    max_request_bytes: int = Field(2 * 1024 * 1024 * 1024, gt=0, description="Largest upload request")
    max_pixels: int = Field(120_000_000, gt=0, description="Images with more pixels are refused")
    queue_max_attempts: int = Field(3, ge=1, description="Failed deliveries before a message is dead-lettered")
    queue_lease_seconds: float = Field(300.0, gt=0, description="Embedded queue: redeliver after this long")
    dispatch_interval: float = Field(0.5, gt=0, description="Seconds between harvest dispatch rounds")
    requeue_after_seconds: float = Field(
        300.0, gt=0, description="A photo queued or harvested this long while its queue is empty lost its "
        "message (an outage, a crash): the dispatcher queues it again")
    trash_days: int = Field(
        30, ge=0, description="Days a photo stays in the trash before it is purged (0: at the next sweep)")
    workers: int = Field(1, ge=1, description="Harvest worker processes started by `mosaic run`")
    web_workers: int = Field(
        0, ge=0, description="gunicorn processes of `mosaic run`/`serve`; 0 = one per core, up to 8")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field("INFO", description="Lowest level logged")
    log_format: Literal["text", "json"] = Field(
        "text", description="text for people; json: one object per line with the request or photo id")
    min_side: int = Field(16, ge=1, description="Images whose shorter side is smaller are refused")
    min_long_side: int = Field(32, ge=1, description="Images whose longer side is smaller are refused")
    working_side: int = Field(1024, ge=256, description="Longest side of the decoded working copy")
    rendition_sizes: dict[str, int] = Field(
        default_factory=lambda: {"thumb": 256, "preview": 1024},
        description='Renditions made per image, name -> longest side in px (JSON: {"thumb": 256})',
    )
    detector: Literal["auto", "detr", "ssd", "none"] = Field(
        "auto", description="Object detector: auto = DETR when its weights are present, else SSD"
    )
    detr_model: str = Field("facebook/detr-resnet-50", description="DETR weights: a local folder or a HF cache id")
    detr_shortest_side: int = Field(512, ge=128, le=1333, description="DETR input's shorter side (aspect kept)")
    detection_threshold: float = Field(0.5, gt=0, lt=1, description="Objects scoring lower are dropped")
    place_max_km: float = Field(50.0, gt=0, description="No town is named for a GPS point farther than this")
    dataset_dir: Path = Field(Path("dataset"), description="Unsplash dataset folder imported by GET /gather/download")
    unsplash_width: int = Field(1920, ge=64, le=10000, description="Width asked of Unsplash's CDN (?w=)")
    download_concurrency: int = Field(16, ge=1, le=256, description="Downloads in flight at once")
    download_per_host: int = Field(8, ge=1, le=256, description="Downloads in flight per host")
    download_timeout: float = Field(30.0, gt=0, description="Seconds before a stalled download is retried")
    download_retries: int = Field(4, ge=0, le=20, description="Retries after 429/5xx/timeouts, with backoff")
    download_backoff: float = Field(0.5, ge=0, description="First retry delay in seconds; doubles each time")
    url_allowlist: list[str] = Field(
        default_factory=list,
        description='Private/loopback hosts or networks URL imports may reach (JSON: ["127.0.0.1"])',
    )
    orientation_preference: Literal["filter", "boost"] = Field(
        "boost", description="Recommendations: drop other orientations (filter) or rank them lower (boost)"
    )
    make_preference: Literal["filter", "boost"] = Field(
        "boost", description="Recommendations: drop other camera makes (filter) or rank them lower (boost)"
    )
    api_token: SecretStr | None = Field(
        None, description="Bearer token for mutating endpoints; empty = no auth (tests and trusted networks only)"
    )
    protect_reads: bool = Field(False, description="Read endpoints need the token too (health stays open)")
    cors_origins: list[str] = Field(
        default_factory=list,
        description='Other sites\' origins allowed to call the API from a browser (JSON: ["https://app.example"])',
    )
    frontend_dir: Path | None = Field(None, description="The web UI's static export (default: frontend/out)")
    lab_url: str | None = Field(
        "http://127.0.0.1:8888/lab",
        description="Where users open the Jupyter lab (`mosaic lab`), linked from the Status page; never the token",
    )
    samples_dir: Path = Field(Path(".cache/photos"), description="Sample photos ingested on first `mosaic run`")
    ingest_samples: bool = True

    @field_validator("catalog_url")
    @classmethod
    def _catalog_scheme(cls, value: str) -> str:
        if value and urlparse(value).scheme.split("+")[0] not in ("sqlite", "postgresql"):
            raise ValueError("must start with sqlite:/// or postgresql://")
        return value

    @field_validator("objects_url")
    @classmethod
    def _objects_scheme(cls, value: str) -> str:
        scheme = urlparse(value).scheme
        if scheme not in ("", "file", "s3"):
            raise ValueError("must be a folder, file:///folder or s3://bucket")
        if scheme == "s3" and not urlparse(value).netloc:
            raise ValueError("s3:// needs a bucket name, as in s3://mosaic")
        return value

    @field_validator("queue_url")
    @classmethod
    def _queue_scheme(cls, value: str) -> str:
        if value and urlparse(value).scheme not in ("local", "amqp", "amqps"):
            raise ValueError("must start with local:/// or amqp://")
        return value

    @field_validator("vectors_url")
    @classmethod
    def _vectors_scheme(cls, value: str) -> str:
        if urlparse(value).scheme not in ("", "file", "http", "https", "tcp"):
            raise ValueError("must be a Milvus Lite file path or http://host:19530")
        return value

    @model_validator(mode="after")
    def _fill_defaults(self) -> Settings:
        data = self.data_dir.absolute()
        self.data_dir = data
        if not self.catalog_url:
            self.catalog_url = f"sqlite:///{data / 'catalog.db'}"
        if not self.objects_url:
            self.objects_url = str(data / "objects")
        if not self.queue_url:
            self.queue_url = f"local://{data / 'queue.db'}"
        if not self.vectors_url:
            self.vectors_url = str(data / "vectors.db")
        if self.objects_url.startswith("s3://") and not (self.s3_endpoint and self.s3_access_key):
            raise ValueError("s3:// objects need MOSAIC_S3_ENDPOINT, MOSAIC_S3_ACCESS_KEY and MOSAIC_S3_SECRET_KEY")
        return self

    @property
    def vectors_embedded(self) -> bool:
        """True when vectors live in a Milvus Lite file that one process must own."""
        return urlparse(self.vectors_url).scheme in ("", "file")

    @property
    def vectors_file(self) -> Path:
        return Path(urlparse(self.vectors_url).path)


def load_settings(**overrides) -> Settings:
    """Build settings, turning pydantic's errors into one message that names each variable."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            field = ".".join(str(part) for part in error["loc"]) or "settings"
            name = ENV_PREFIX + field.upper() if error["loc"] else "settings"
            problems.append(f"{name}: {error['msg']}")
        raise SettingsError("invalid settings:\n  " + "\n  ".join(problems)) from None
