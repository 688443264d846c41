"""HTTP views of harvest: one image's record, pipeline status, dispatch on demand."""

from __future__ import annotations

from flask import Blueprint, jsonify

from harvest.dispatch import dispatch, reprocess, retry_failed
from harvest.models import Dispatched, ImageDetails, Marked, PipelineStatus, Reprocess, Retried
from harvest.status import pipeline_status
from mosaic.catalog.images import image_details
from mosaic.contract import endpoint, found
from mosaic.web import backends

blueprint = Blueprint("harvest", __name__)


@blueprint.get("/images/<image_id>")
@endpoint("Everything the catalog knows about one image, with the steps that failed on it (`failed_steps`).",
          answers={200: ImageDetails})
def image(image_id: str):
    with backends().catalog.connect() as connection:
        return jsonify(found(image_details(connection, image_id), "image", image_id))


@blueprint.get("/status")
@endpoint("Pipeline status: counts by state, rates, failures, failed steps, degraded features, queues, batches.",
          answers={200: PipelineStatus})
def status():
    return jsonify(pipeline_status(backends()))


@blueprint.post("/retry")
@endpoint("Send failed photos, failed steps and dead-lettered messages through the pipeline again.", mutates=True,
          answers={200: Retried})
def retry():
    return jsonify(retried=retry_failed(backends()), dispatched=dispatch(backends()))


@blueprint.post("/dispatch")
@endpoint("Dispatch what needs processing now.", mutates=True, answers={200: Dispatched})
def dispatch_now():
    return jsonify(dispatched=dispatch(backends()))


@blueprint.post("/reprocess")
@endpoint("Mark images (all, the given `ids`, or only `stale` ones) for processing again.", body=Reprocess,
          mutates=True, answers={200: Marked})
def reprocess_images(body: Reprocess):
    return jsonify(marked=reprocess(backends(), body.ids, stale=body.stale))
