"use client";

import Link from "next/link";
import { useSearchParams } from "next/navigation";
import { Suspense, useState } from "react";
import AlbumPicker from "@/components/AlbumPicker";
import GroupView from "@/components/GroupView";
import ResultGrid from "@/components/ResultGrid";
import Toast from "@/components/Toast";
import WorldPin from "@/components/WorldPin";
import { DuplicateOf, ImageDetails, message, postJson, Recommendation, Restored, Results, sendJson, Trashed } from "@/lib/api";
import { useApi } from "@/lib/swr";

function percent(share: number): string {
  return `${(share * 100).toFixed(0)}%`;
}

function kilobytes(bytes: number): string {
  return `${Math.max(1, Math.round(bytes / 1024))} KB`;
}

function similarParts(result: Recommendation): string {
  const explanation = result.explanation as Record<string, { score?: number; shared?: string[] }>;
  const parts = ["visual", "palette"]
    .filter((name) => explanation[name]?.score !== undefined)
    .map((name) => `${name} ${explanation[name].score!.toFixed(2)}`);
  const shared = explanation.labels?.shared ?? [];
  if (shared.length) parts.push(`shares ${shared.join(", ")}`);
  return parts.join(" · ");
}

function Photo({ id }: { id: string }) {
  const base = encodeURIComponent(id);
  const details = useApi<ImageDetails>(`/harvest/images/${base}`);
  const similar = useApi<Results>(`/recommend/similar/${base}?limit=12`);
  const duplicates = useApi<DuplicateOf>(`/recommend/duplicates/${base}`);
  const [boxes, setBoxes] = useState(true);
  // What this page changed since it loaded: the details' deleted_at is as of the load.
  const [trashed, setTrashed] = useState<Trashed | null | undefined>(undefined);
  const [toast, setToast] = useState<{ note: string; undo?: () => void }>({ note: "" });
  const [error, setError] = useState("");

  const image = details.data;
  if (!image)
    return details.error ? (
      <p role="alert" className="error">
        {details.error.message}
      </p>
    ) : (
      <p className="muted">Loading…</p>
    );

  const deletedAt = trashed === undefined ? image.deleted_at ?? null : trashed?.deleted_at ?? null;

  async function trash() {
    setError("");
    try {
      setTrashed(await sendJson<Trashed>("DELETE", `/gather/images/${base}`));
      setToast({ note: "Moved to the trash.", undo: restore });
    } catch (e) {
      setError(message(e));
    }
  }

  async function restore() {
    setError("");
    try {
      await postJson<Restored>(`/gather/images/${base}/restore`, {});
      setTrashed(null);
      setToast({ note: "Restored to the Library." });
    } catch (e) {
      setError(message(e));
    }
  }

  const exif = Object.entries(image.exif ?? {}).filter(([, value]) => value !== null && value !== "");
  // A photo that could not be read has no preview; for one still being processed the CDN answers 202 until the
  // worker has made it.
  const preview = image.renditions.preview?.url ?? (image.state === "failed" ? null : `${image.url}?size=preview`);
  return (
    <>
      <h1>{image.original_name ?? "Photo"}</h1>
      <p className="lead">
        {image.width}×{image.height} px · {image.mime} · {kilobytes(image.bytes)} · {image.state}
        {image.error ? `: ${image.error}` : ""}
      </p>
      <div className="row card photo-actions">
        {deletedAt ? (
          <p className="in-trash" role="status">
            In the trash since {new Date(deletedAt).toLocaleString("en")}
            {trashed?.purge_after ? `, deleted for good after ${new Date(trashed.purge_after).toLocaleDateString("en")}` : ""}.{" "}
            <button type="button" onClick={restore}>
              Restore
            </button>
          </p>
        ) : (
          <>
            <AlbumPicker ids={[image.id]} idPrefix="photo" onDone={(note) => setToast({ note })} />
            <button type="button" className="danger" onClick={trash}>
              Delete
            </button>
          </>
        )}
        <Toast note={toast.note} undo={toast.undo} onDismiss={() => setToast({ note: "" })} />
        {error && <span role="alert" className="error">{error}</span>}
      </div>

      <div className="photo-layout">
        <section aria-labelledby="image-heading" className="card">
          <h2 id="image-heading" className="visually-hidden">Image</h2>
          <figure className="framed">
            {preview ? (
              <img src={preview} alt={image.original_name ?? `Photo ${image.id}`} />
            ) : (
              <p className="no-thumb">No preview: this file could not be read.</p>
            )}
            {boxes &&
              image.objects.map((object, i) => {
                const [x0, y0, x1, y1] = object.box;
                return (
                  <div key={i} className="box" aria-hidden="true" data-label={object.label}
                       style={{ left: `${x0 * 100}%`, top: `${y0 * 100}%`, width: `${(x1 - x0) * 100}%`,
                                height: `${(y1 - y0) * 100}%` }}>
                    <span>{object.label}</span>
                  </div>
                );
              })}
          </figure>
          {image.objects.length > 0 && (
            <p>
              <input id="show-boxes" type="checkbox" checked={boxes} onChange={(e) => setBoxes(e.target.checked)} />{" "}
              <label htmlFor="show-boxes">Show object boxes</label>
            </p>
          )}
          <h3>Renditions</h3>
          <ul className="plain" aria-label="Renditions">
            <li>
              <a href={image.url}>Original</a> ({image.width}×{image.height}, {kilobytes(image.bytes)})
            </li>
            {Object.entries(image.renditions).map(([name, r]) => (
              <li key={name}>
                <a href={r.url}>{name}</a> ({r.width}×{r.height}, {kilobytes(r.bytes)}, {r.mime})
              </li>
            ))}
          </ul>
        </section>

        <div>
          <section aria-labelledby="palette-heading" className="card">
            <h2 id="palette-heading">Palette</h2>
            <ul className="swatches" aria-label="Palette">
              {image.colours.map((colour) => (
                <li key={colour.rank}>
                  <span className="swatch" style={{ background: colour.hex }} aria-hidden="true" />
                  <span>
                    <strong>{colour.name ?? colour.hex}</strong> {colour.hex} · {percent(colour.share)}
                    <br />
                    <Link href={`/colours?hex=${encodeURIComponent(colour.hex)}`}>Photos with this colour</Link>
                  </span>
                </li>
              ))}
            </ul>
          </section>

          <section aria-labelledby="tags-heading" className="card">
            <h2 id="tags-heading">Tags and objects</h2>
            {image.tags.length === 0 ? (
              <p>No tags.</p>
            ) : (
              <table aria-label="Tags">
                <thead>
                  <tr>
                    <th scope="col">Tag</th>
                    <th scope="col">Found by</th>
                    <th scope="col">Score</th>
                  </tr>
                </thead>
                <tbody>
                  {image.tags.map((tag) => (
                    <tr key={`${tag.label}-${tag.source}`}>
                      <td>{tag.label}</td>
                      <td>{tag.source}</td>
                      <td>{tag.score === null ? "—" : tag.score.toFixed(2)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </section>

          <section aria-labelledby="place-heading" className="card">
            <h2 id="place-heading">Place</h2>
            {image.place ? (
              <>
                <WorldPin latitude={image.place.latitude} longitude={image.place.longitude} />
                <p>
                  {[image.place.city, image.place.country].filter(Boolean).join(", ") || "No town nearby"} ·{" "}
                  {image.place.latitude.toFixed(5)}, {image.place.longitude.toFixed(5)}
                  {image.place.altitude !== null ? ` · ${image.place.altitude.toFixed(0)} m` : ""}
                </p>
              </>
            ) : (
              <p>No GPS position in this photo.</p>
            )}
          </section>
        </div>
      </div>

      <section aria-labelledby="exif-heading" className="card">
        <h2 id="exif-heading">EXIF</h2>
        {exif.length === 0 ? (
          <p>No EXIF data.</p>
        ) : (
          <table aria-label="EXIF">
            <tbody>
              {exif.map(([name, value]) => (
                <tr key={name}>
                  <th scope="row">{name.replaceAll("_", " ")}</th>
                  <td>{String(value)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>

      <section aria-labelledby="duplicates-heading" className="card">
        <h2 id="duplicates-heading">Near-duplicates</h2>
        {duplicates.error && <p className="error">{duplicates.error.message}</p>}
        {duplicates.data &&
          (duplicates.data.group ? (
            <GroupView group={duplicates.data.group} current={image.id} />
          ) : (
            <p>No near-duplicates.</p>
          ))}
      </section>

      <section aria-labelledby="similar-heading" id="similar">
        <h2 id="similar-heading">Similar photos</h2>
        {similar.error && <p className="error">{similar.error.message}</p>}
        {similar.data &&
          (similar.data.results.length ? (
            <ResultGrid results={similar.data.results} label="Similar photos"
                        details={(r) => <p className="summary">{similarParts(r)}</p>} />
          ) : (
            <p>No similar photos yet.</p>
          ))}
      </section>
    </>
  );
}

function PhotoFromQuery() {
  const id = useSearchParams().get("id");
  if (!id)
    return (
      <>
        <h1>Photo</h1>
        <p role="alert" className="error">
          No photo chosen: open a photo from the <Link href="/">Library</Link>, <Link href="/discover">Discover</Link> or <Link href="/colours">Colours</Link>.
        </p>
      </>
    );
  return <Photo key={id} id={id} />;
}

export default function PhotoPage() {
  // The static export has no per-photo pages: the id comes from ?id= in the browser.
  return (
    <Suspense fallback={<p className="muted">Loading…</p>}>
      <PhotoFromQuery />
    </Suspense>
  );
}
