"""Tags: the most common (`tags/top`) and a dendrogram of how they occur together (`tags/dendrogram`).

The dendrogram clusters tags by co-occurrence: the distance between two tags is 1 - Jaccard(photos with
one, photos with the other), counted in SQL; scipy's average linkage builds the tree.

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
from sqlalchemy import Connection, and_, func, or_, select

from mosaic.catalog.schema import tags
from visualize.figures.common import empty
from visualize.filters import Filters

TOP_TAGS = 30
DENDROGRAM_TAGS = 40


def _labelled(filters: Filters, categories: tuple[str, ...] = ()):
    """(image_id, label) once per photo and label (a label given by two sources counts once), filtered."""
    query = select(tags.c.image_id, tags.c.label).distinct().where(filters.restrict(tags.c.image_id))
    if categories:
        query = query.where(or_(*(func.lower(tags.c.label).contains(word.lower(), autoescape=True)
                                  for word in categories)))
    return query.subquery("labelled")


def top_tags(connection: Connection, filters: Filters):
    """The most common tags (photos carrying each), stacked by what gave the tag (detector, scene, dataset)."""
    title = "Most common tags"
    labelled = _labelled(filters)
    top = connection.execute(
        select(labelled.c.label, func.count()).group_by(labelled.c.label)
        .order_by(func.count().desc(), labelled.c.label).limit(TOP_TAGS)
    ).all()
    if not top:
        return empty(title)
    labels = [r[0] for r in top]
    rows = connection.execute(
        select(tags.c.source, tags.c.label, func.count())
        .where(tags.c.label.in_(labels), filters.restrict(tags.c.image_id)).group_by(tags.c.source, tags.c.label)
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
    labelled = _labelled(filters, categories)
    counts = dict(connection.execute(
        select(labelled.c.label, func.count()).group_by(labelled.c.label)
        .order_by(func.count().desc(), labelled.c.label).limit(DENDROGRAM_TAGS)).all())
    if len(counts) < 2:
        return empty(title, "no data yet" if not counts else "no data yet: only one tag to cluster")
    labels = sorted(counts)
    other = tags.alias("other")
    pairs = connection.execute(
        select(tags.c.label, other.c.label, func.count(func.distinct(tags.c.image_id)))
        .select_from(tags.join(other, and_(other.c.image_id == tags.c.image_id, other.c.label > tags.c.label)))
        .where(tags.c.label.in_(labels), other.c.label.in_(labels), filters.restrict(tags.c.image_id))
        .group_by(tags.c.label, other.c.label)
    ).all()
    index = {label: i for i, label in enumerate(labels)}
    distance = np.ones((len(labels), len(labels)))
    np.fill_diagonal(distance, 0.0)
    for a, b, both in pairs:
        i, j = index[a], index[b]
        distance[i, j] = distance[j, i] = 1.0 - both / (counts[a] + counts[b] - both)
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


def _leaf(label: str, categories: tuple[str, ...]) -> str:
    words = [word for word in categories if word.lower() in label.lower()]
    return f"{label} [{', '.join(words)}]" if words else label
