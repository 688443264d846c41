"use client";

import Link from "next/link";
import { FormEvent, useState } from "react";
import { createAlbum } from "@/components/AlbumPicker";
import Confirm from "@/components/Confirm";
import { Album, AlbumDeleted, AlbumName, Albums, message, sendJson } from "@/lib/api";
import { useApi } from "@/lib/swr";

function albumHref(id: string): string {
  return `/album?id=${encodeURIComponent(id)}`;
}

function AlbumCard({ album, onChanged, onDelete }: {
  album: Album;
  onChanged: (note: string) => void;
  onDelete: (album: Album) => void;
}) {
  const [renaming, setRenaming] = useState(false);
  const [name, setName] = useState(album.name);
  const [error, setError] = useState("");

  async function rename(event: FormEvent) {
    event.preventDefault();
    setError("");
    try {
      const renamed = await sendJson<Album>("PATCH", `/recommend/albums/${encodeURIComponent(album.id)}`,
                                           { name: name.trim() } satisfies AlbumName);
      setRenaming(false);
      onChanged(`Renamed to “${renamed.name}”.`);
    } catch (e) {
      setError(message(e));
    }
  }

  return (
    <li className="card album" data-album-id={album.id}>
      <Link href={albumHref(album.id)} className="album-cover" aria-label={`Open album ${album.name}`}>
        {album.cover_url ? <img src={album.cover_url} alt="" loading="lazy" /> : <span className="muted">Empty</span>}
      </Link>
      <h2>
        <Link href={albumHref(album.id)}>{album.name}</Link>
      </h2>
      <p className="muted">
        {album.count} photo{album.count === 1 ? "" : "s"}
      </p>
      {renaming ? (
        <form className="row" onSubmit={rename}>
          <label htmlFor={`rename-${album.id}`} className="visually-hidden">New name for {album.name}</label>
          <input id={`rename-${album.id}`} value={name} required maxLength={200} onChange={(e) => setName(e.target.value)} />
          <button type="submit" disabled={!name.trim()}>Save</button>
          <button type="button" onClick={() => { setRenaming(false); setName(album.name); }}>Cancel</button>
        </form>
      ) : (
        <div className="row">
          <button type="button" onClick={() => setRenaming(true)}>
            Rename<span className="visually-hidden"> {album.name}</span>
          </button>
          <button type="button" className="danger" onClick={() => onDelete(album)}>
            Delete<span className="visually-hidden"> {album.name}</span>
          </button>
        </div>
      )}
      {error && <p role="alert" className="error">{error}</p>}
    </li>
  );
}

export default function AlbumsPage() {
  const albums = useApi<Albums>("/recommend/albums");
  const [name, setName] = useState("");
  const [note, setNote] = useState("");
  const [error, setError] = useState("");
  const [deleting, setDeleting] = useState<Album | null>(null);

  async function create(event: FormEvent) {
    event.preventDefault();
    setError("");
    try {
      const album = await createAlbum(name.trim());
      setName("");
      setNote(`Created “${album.name}”.`);
    } catch (e) {
      setError(message(e));
    }
  }

  async function remove() {
    const album = deleting;
    setDeleting(null);
    if (!album) return;
    setError("");
    try {
      await sendJson<AlbumDeleted>("DELETE", `/recommend/albums/${encodeURIComponent(album.id)}`);
      setNote(`Deleted the album “${album.name}” (its photos stay in the Library).`);
      await albums.mutate();
    } catch (e) {
      setError(message(e));
    }
  }

  const list = albums.data?.albums;
  return (
    <>
      <h1>Albums</h1>
      <form className="row card" onSubmit={create}>
        <label htmlFor="album-name">New album</label>
        <input id="album-name" value={name} required maxLength={200} onChange={(e) => setName(e.target.value)} />
        <button type="submit" className="primary" disabled={!name.trim()}>
          Create album
        </button>
      </form>
      <div role="status" aria-live="polite" className="note">{note}</div>
      {(error || albums.error) && <p role="alert" className="error">{error || albums.error?.message}</p>}
      {list && list.length === 0 && <p>No albums yet. Create one here, or from the Library’s selection.</p>}
      {list && list.length > 0 && (
        <ul className="albums plain" aria-label="Albums">
          {list.map((album) => (
            <AlbumCard key={`${album.id}/${album.name}`} album={album} onDelete={setDeleting}
                       onChanged={(text) => { setNote(text); void albums.mutate(); }} />
          ))}
        </ul>
      )}
      <Confirm open={deleting !== null} title={`Delete the album “${deleting?.name ?? ""}”?`} confirm="Delete album"
               onConfirm={remove} onCancel={() => setDeleting(null)}>
        <p>The album goes; its photos stay in the Library.</p>
      </Confirm>
    </>
  );
}
