"use client";

import Link from "next/link";
import { useSearchParams } from "next/navigation";
import { Suspense, useMemo, useState } from "react";
import { mutate } from "swr";
import LoadMore from "@/components/LoadMore";
import PhotoGrid, { useSelection } from "@/components/PhotoGrid";
import Toast from "@/components/Toast";
import { Album, AlbumPhotos, AlbumRemoved, message, PhotoPage, postJson } from "@/lib/api";
import { useApi, useCursorPages } from "@/lib/swr";

function AlbumView({ id, limit }: { id: string; limit: number }) {
  const album = useApi<Album>(`/recommend/albums/${encodeURIComponent(id)}`);
  const pages = useCursorPages<PhotoPage>(`/recommend/photos?album=${encodeURIComponent(id)}&limit=${limit}`);
  const photos = useMemo(() => pages.loaded.flatMap((page) => page.photos), [pages.loaded]);
  const selection = useSelection();
  const [note, setNote] = useState("");
  const [error, setError] = useState("");
  const chosen = [...selection.selected];

  async function remove() {
    setError("");
    try {
      const answer = await postJson<AlbumRemoved>(`/recommend/albums/${encodeURIComponent(id)}/photos/remove`,
                                                  { ids: chosen } satisfies AlbumPhotos);
      selection.clear();
      setNote(`Removed ${answer.removed} photo${answer.removed === 1 ? "" : "s"} from the album.`);
      await Promise.all([pages.mutate(), album.mutate(answer.album, { revalidate: false }), mutate("/recommend/albums")]);
    } catch (e) {
      setError(message(e));
    }
  }

  if (album.error)
    return (
      <>
        <h1>Album</h1>
        <p role="alert" className="error">{album.error.message}</p>
      </>
    );
  return (
    <>
      <h1>{album.data?.name ?? "Album"}</h1>
      <p className="lead">
        {album.data ? `${album.data.count} photo${album.data.count === 1 ? "" : "s"}. ` : ""}
        <Link href="/albums">All albums</Link>
      </p>
      <div className="toolbar row" role="group" aria-label="Selection">
        <span>{chosen.length} selected</span>
        <button type="button" disabled={!chosen.length} onClick={remove}>
          Remove from album
        </button>
        <button type="button" disabled={!chosen.length} onClick={selection.clear}>
          Clear selection
        </button>
      </div>
      <Toast note={note} onDismiss={() => setNote("")} />
      {(error || pages.error) && <p role="alert" className="error">{error || pages.error?.message}</p>}
      {pages.data && photos.length === 0 && <p>No photos in this album: add some from the Library.</p>}
      <PhotoGrid photos={photos} label="Album photos" selection={selection} />
      <LoadMore hasMore={pages.hasMore} loading={pages.loading} onMore={pages.more} count={photos.length} />
    </>
  );
}

function AlbumFromQuery() {
  const params = useSearchParams();
  const id = params.get("id");
  const limit = Math.min(200, Math.max(1, Number(params.get("limit")) || 60));
  if (!id)
    return (
      <>
        <h1>Album</h1>
        <p role="alert" className="error">
          No album chosen: open one from <Link href="/albums">Albums</Link>.
        </p>
      </>
    );
  return <AlbumView key={id} id={id} limit={limit} />;
}

export default function AlbumPage() {
  // The static export has no per-album pages: the id comes from ?id= in the browser.
  return (
    <Suspense fallback={<p className="muted">Loading…</p>}>
      <AlbumFromQuery />
    </Suspense>
  );
}
