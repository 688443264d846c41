"""HTTP views of the library: browse, the timeline's months, search by words, albums.

GET    /photos?cursor=&limit=60&from=&to=&make=&country=&town=&tag=&colour=&orientation=&state=&source=&album=
                                              {"photos": [item...], "next_cursor"}
GET    /photos/months?<the same filters>      {"months": [{"month": "2024-06", "count"}]}
GET    /search?q=&limit=60&cursor=            {"results": [item + score + matched], "next_cursor", "terms"}
GET    /albums                                {"albums": [album...]}
POST   /albums {"name"}                       201 album
GET    /albums/<id>                           album
PATCH  /albums/<id> {"name"}                  album
DELETE /albums/<id>                           {"deleted": id} (its photos stay)
POST   /albums/<id>/photos {"ids"}            {"added": n, "album"}
POST   /albums/<id>/photos/remove {"ids"}     {"removed": n, "album"}
"""

from __future__ import annotations

from flask import Blueprint, jsonify

from mosaic.contract import endpoint
from mosaic.web import backends
from recommend import albums, caches, library, text_search
from recommend.models import (
    Album,
    AlbumAdded,
    AlbumDeleted,
    AlbumList,
    AlbumName,
    AlbumPhotos,
    AlbumRemoved,
    FoundPage,
    LibraryQuery,
    Months,
    PhotoPage,
    WordsQuery,
)

blueprint = Blueprint("library", __name__)


def _filters(connection, query: LibraryQuery) -> library.Filters:
    return library.Filters(
        start=library.day_start(query.from_) if query.from_ else None,
        end=library.day_after(query.to) if query.to else None,
        make=query.make, country=query.country, town=query.town, tag=query.tag, colour=query.colour,
        orientation=query.orientation, state=query.state, source=query.source,
        album=albums.resolve(connection, query.album) if query.album else None)


@blueprint.get("/photos")
@endpoint("The library: photos newest first by when they were taken, filtered, a page at a time (keyset).",
          query=LibraryQuery, answers={200: PhotoPage})
def photos_view(query: LibraryQuery):
    after = library.decode_cursor(query.cursor) if query.cursor else None
    with backends().catalog.connect() as connection:
        return jsonify(library.browse(connection, _filters(connection, query), query.limit, after))


@blueprint.get("/photos/months")
@endpoint("How many photos the library holds per month (the filters of /photos), newest first.",
          query=LibraryQuery, answers={200: Months})
def months_view(query: LibraryQuery):
    with backends().catalog.connect() as connection:
        return jsonify(months=library.months(connection, _filters(connection, query)))


@blueprint.get("/search")
@endpoint("Search the library by words (labels, places, cameras, file names, descriptions, albums) and field "
          "terms, most relevant first.", query=WordsQuery, answers={200: FoundPage}, cpu_bound=True)
def search_view(query: WordsQuery):
    terms = text_search.parse(query.q)
    after = library.decode_cursor(query.cursor, scored=True) if query.cursor else None
    words = caches.word_vectors()
    known = caches.known_labels().get(backends()) if terms.words else []
    with backends().catalog.connect() as connection:
        album = albums.resolve(connection, terms.fields["album"]) if "album" in terms.fields else None
        found = text_search.search(connection, terms, text_search.filters_of(terms, album), query.limit, after,
                                   words=words, known=known)
    return jsonify(**found, terms=terms.as_json())


@blueprint.get("/albums")
@endpoint("Every album with its photo count and cover.", answers={200: AlbumList})
def albums_view():
    with backends().catalog.connect() as connection:
        return jsonify(albums=albums.list_albums(connection))


@blueprint.post("/albums")
@endpoint("Make an album.", body=AlbumName, body_required=True, mutates=True, answers={201: Album})
def create_album_view(body: AlbumName):
    with backends().catalog.begin() as connection:
        return jsonify(albums.create(connection, body.name)), 201


@blueprint.get("/albums/<album_id>")
@endpoint("One album with its photo count and cover (its photos: /photos?album=<id>).", answers={200: Album})
def album_view(album_id: str):
    with backends().catalog.connect() as connection:
        return jsonify(albums.get_album(connection, album_id))


@blueprint.patch("/albums/<album_id>")
@endpoint("Rename an album.", body=AlbumName, body_required=True, mutates=True, answers={200: Album})
def rename_album_view(album_id: str, body: AlbumName):
    with backends().catalog.begin() as connection:
        return jsonify(albums.rename(connection, album_id, body.name))


@blueprint.delete("/albums/<album_id>")
@endpoint("Delete an album; its photos stay in the library.", mutates=True, answers={200: AlbumDeleted})
def delete_album_view(album_id: str):
    with backends().catalog.begin() as connection:
        albums.remove_album(connection, album_id)
    return jsonify(deleted=album_id)


@blueprint.post("/albums/<album_id>/photos")
@endpoint("Add photos to an album (ids unknown or already in it are skipped).", body=AlbumPhotos,
          body_required=True, mutates=True, answers={200: AlbumAdded})
def add_photos_view(album_id: str, body: AlbumPhotos):
    with backends().catalog.begin() as connection:
        added = albums.add_photos(connection, album_id, body.ids)
        return jsonify(added=added, album=albums.get_album(connection, album_id))


@blueprint.post("/albums/<album_id>/photos/remove")
@endpoint("Take photos out of an album (they stay in the library).", body=AlbumPhotos, body_required=True,
          mutates=True, answers={200: AlbumRemoved})
def remove_photos_view(album_id: str, body: AlbumPhotos):
    with backends().catalog.begin() as connection:
        removed = albums.remove_photos(connection, album_id, body.ids)
        return jsonify(removed=removed, album=albums.get_album(connection, album_id))
