"use client";

import { FormEvent, useState } from "react";
import { mutate } from "swr";
import { Album, AlbumAdded, AlbumName, AlbumPhotos, Albums, message, postJson } from "@/lib/api";
import { useApi } from "@/lib/swr";

/** Create an album named `name`. */
export async function createAlbum(name: string): Promise<Album> {
  const album = await postJson<Album>("/recommend/albums", { name } satisfies AlbumName);
  await mutate("/recommend/albums");
  return album;
}

/** "Add to album": pick an album, or name a new one, and add `ids` to it. */
export default function AlbumPicker({ ids, idPrefix, onDone }: {
  ids: string[];
  idPrefix: string;
  onDone: (note: string) => void;
}) {
  const albums = useApi<Albums>("/recommend/albums");
  const [choice, setChoice] = useState("");
  const [name, setName] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState("");
  const NEW = "__new__";
  const list = albums.data?.albums ?? [];
  const picked = choice || (list.length ? list[0].id : NEW);

  async function add(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError("");
    try {
      const album = picked === NEW ? await createAlbum(name.trim()) : list.find((a) => a.id === picked)!;
      const answer = await postJson<AlbumAdded>(`/recommend/albums/${encodeURIComponent(album.id)}/photos`, { ids } satisfies AlbumPhotos);
      await mutate("/recommend/albums");
      await mutate(`/recommend/albums/${encodeURIComponent(album.id)}`);
      setName("");
      setChoice(album.id);
      onDone(`Added ${answer.added} photo${answer.added === 1 ? "" : "s"} to “${answer.album.name}”.`);
    } catch (e) {
      setError(message(e));
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className="row album-picker" onSubmit={add}>
      <label htmlFor={`${idPrefix}-album`}>Album to add to</label>
      <select id={`${idPrefix}-album`} value={picked} onChange={(e) => setChoice(e.target.value)}>
        {list.map((album) => (
          <option key={album.id} value={album.id}>
            {album.name} ({album.count})
          </option>
        ))}
        <option value={NEW}>New album…</option>
      </select>
      {picked === NEW && (
        <>
          <label htmlFor={`${idPrefix}-album-name`} className="visually-hidden">New album name</label>
          <input id={`${idPrefix}-album-name`} value={name} placeholder="New album name" required maxLength={200}
                 onChange={(e) => setName(e.target.value)} />
        </>
      )}
      <button type="submit" disabled={busy || ids.length === 0 || (picked === NEW && !name.trim())}>
        Add to album
      </button>
      {error && <span role="alert" className="error">{error}</span>}
    </form>
  );
}
