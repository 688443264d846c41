"""Tags: the most common (`tags/top`) and a dendrogram of how they occur together (`tags/dendrogram`).

The dendrogram clusters tags by co-occurrence: the distance between two tags is 1 - Jaccard(photos with
one, photos with the other); scipy's average linkage builds the tree. The counts come from SQL in one pass
over the tags: each photo's set of chosen tags (a string aggregate per photo), then how many photos have each
set. There are few distinct sets, and every pair's count follows from them; a self-join of the tags table
would instead make a row per pair per photo and then de-duplicate them (a tag can come from several sources).

Categories (the original's JSON body {"list": ["animal", "dog", ...]}): a simple interpretation. A tag
belongs to a category word when the word is part of its label, case-insensitive ("dog" holds "dog" and
"hot dog"). With categories, the dendrogram shows only tags under some word, each leaf named
"label [word]"; without, the most common tags.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from scipy.cluster.hierarchy import dendrogram as scipy_dendrogram
from scipy.cluster.hierarchy import linkage
from scipy.spatial.distance import squareform
from sqlalchemy import Connection, and_, case, func, or_, select

from mosaic.catalog.images import confident
from mosaic.catalog.schema import tags
from visualize.figures.common import empty
from visualize.filters import Filters

TOP_TAGS = 30
DENDROGRAM_TAGS = 40
SEPARATOR = "\x1f"  # ASCII's unit separator: joins a photo's labels; no label contains it


def _photos_per_label(filters: Filters, categories: tuple[str, ...] = (), limit: int = TOP_TAGS):
    """SELECT label, photos: the most common labels, each photo counted once (a label from two sources too).

    Read from the (label, image_id, source) index (migration 0007): each label's photos come in order.
    """
    photos = func.count(func.distinct(tags.c.image_id))
    query = select(tags.c.label, photos).where(filters.restrict(tags.c.image_id), confident())
    if categories:
        query = query.where(or_(*(func.lower(tags.c.label).contains(word.lower(), autoescape=True)
                                  for word in categories)))
    return query.group_by(tags.c.label).order_by(photos.desc(), tags.c.label).limit(limit)


def top_tags(connection: Connection, filters: Filters):
    """The most common tags (photos carrying each), stacked by what gave the tag (detector, scene, dataset)."""
    title = "Most common tags"
    top = connection.execute(_photos_per_label(filters)).all()
    if not top:
        return empty(title)
    labels = [r[0] for r in top]
    rows = connection.execute(
        select(tags.c.source, tags.c.label, func.count())
        .where(tags.c.label.in_(labels), filters.restrict(tags.c.image_id), confident())
        .group_by(tags.c.source, tags.c.label)
    ).all()
    sources = sorted({r[0] for r in rows})
    counts = {(source, label): count for source, label, count in rows}
    figure = go.Figure([go.Bar(name=source, x=labels, y=[counts.get((source, label), 0) for label in labels])
                        for source in sources])
    figure.update_layout(title=title, barmode="stack", xaxis_title="Tag", yaxis_title="Photos",
                         legend_title="Source", meta={"photos": dict(top)})
    return figure


def dendrogram(connection: Connection, filters: Filters, categories: tuple[str, ...] = ()):
    title = "Tags that occur together" + (f" (under {', '.join(categories)})" if categories else "")
    labels = sorted(r[0] for r in connection.execute(_photos_per_label(filters, categories, DENDROGRAM_TAGS)))
    if len(labels) < 2:
        return empty(title, "no data yet" if not labels else "no data yet: only one tag to cluster")
    together = _co_occurrence(connection, filters, labels)
    photos = np.diag(together)
    distance = 1.0 - together / (photos[:, None] + photos[None, :] - together)
    np.fill_diagonal(distance, 0.0)
    tree = scipy_dendrogram(linkage(squareform(distance, checks=False), method="average"), no_plot=True,
                            labels=[_leaf(label, categories) for label in labels])
    xs, ys = [], []
    for icoord, dcoord in zip(tree["icoord"], tree["dcoord"], strict=True):
        xs += [*icoord, None]
        ys += [*dcoord, None]
    figure = go.Figure(go.Scatter(x=xs, y=ys, mode="lines", line={"color": "#1f77b4"}, hoverinfo="skip"))
    figure.update_layout(
        title=title, showlegend=False, yaxis_title="Distance (1 − Jaccard of co-occurrence)",
        xaxis={"tickmode": "array", "tickvals": [5 + 10 * i for i in range(len(tree["ivl"]))],
               "ticktext": tree["ivl"], "tickangle": -60},
    )
    return figure


def _co_occurrence(connection: Connection, filters: Filters, labels: list[str]) -> np.ndarray:
    """Photos having both labels[i] and labels[j] (the diagonal: photos having labels[i])."""
    # Other labels become NULL, which the aggregate skips; filtering them in WHERE instead would make SQLite
    # read the label index and sort by photo, where the primary key already comes in photo order.
    chosen = case((and_(tags.c.label.in_(labels), confident()), tags.c.label))
    per_photo = (select(func.aggregate_strings(chosen, SEPARATOR).label("labels"))
                 .where(filters.restrict(tags.c.image_id)).group_by(tags.c.image_id).subquery())
    sets = connection.execute(select(per_photo.c.labels, func.count()).group_by(per_photo.c.labels)).all()
    index = {label: i for i, label in enumerate(labels)}
    rows, columns, weights = [], [], []
    for joined, photos in sets:
        if joined is None:  # none of the chosen labels
            continue
        present = {index[label] for label in joined.split(SEPARATOR)}  # a set: one label, several sources
        rows += [len(weights)] * len(present)
        columns += present
        weights.append(photos)
    has = np.zeros((len(weights), len(labels)))
    has[rows, columns] = 1.0
    return has.T @ (has * np.array(weights, dtype=float)[:, None])


def _leaf(label: str, categories: tuple[str, ...]) -> str:
    words = [word for word in categories if word.lower() in label.lower()]
    return f"{label} [{', '.join(words)}]" if words else label
