"use client";

import Link from "next/link";
import { FormEvent, useState } from "react";
import { useSWRConfig } from "swr";
import {
  Batch,
  DatasetImportRequest,
  DatasetStatus,
  Imports,
  ImportRun,
  message,
  photoHref,
  postJson,
  UrlImportRequest,
} from "@/lib/api";
import { useApi } from "@/lib/swr";

const FINAL = new Set(["completed", "failed"]);
const POLL_MS = 700;
const RECENT = "/gather/imports?limit=10";
const runUrl = (id: string) => `/gather/imports/${encodeURIComponent(id)}`;
const batchUrl = (id: string) => `/gather/batches/${encodeURIComponent(id)}`;

function done(run: ImportRun): number {
  return run.stored + run.duplicates + run.skipped + run.failed;
}

export default function ImportPage() {
  const { mutate } = useSWRConfig();
  const [limit, setLimit] = useState("");
  const [sample, setSample] = useState("");
  const [urls, setUrls] = useState("");
  const [importId, setImportId] = useState<string | null>(null);
  const [startError, setStartError] = useState("");
  const [busy, setBusy] = useState(false);
  const dataset = useApi<DatasetStatus>("/gather/status");
  // Every run, also those started from the command line or another browser.
  const recent = useApi<Imports>(RECENT);
  // Follow the import (kept in the catalog, so any process reports it) until it completes or fails; each answer
  // fetches its batch again, and a change of state the list of recent runs.
  const followed = useApi<ImportRun>(importId ? runUrl(importId) : null, {
    refreshInterval: (latest) => (latest && FINAL.has(latest.state) ? 0 : POLL_MS),
    dedupingInterval: POLL_MS / 2,
    onSuccess: (found) => {
      if (found.batch_id) mutate(batchUrl(found.batch_id));
      if (found.id !== followed.data?.id || found.state !== followed.data?.state) mutate(RECENT);
    },
  });
  const run = followed.data;
  const batch = useApi<Batch>(run?.batch_id ? batchUrl(run.batch_id) : null).data;
  const error = startError || dataset.error?.message || recent.error?.message || followed.error?.message;

  async function start(url: string, body: DatasetImportRequest | UrlImportRequest) {
    setBusy(true);
    setStartError("");
    try {
      const started = await postJson<ImportRun>(url, body);
      await mutate(runUrl(started.id), started, { revalidate: false });
      setImportId(started.id);
      mutate(RECENT);
    } catch (e) {
      setStartError(message(e));
    } finally {
      setBusy(false);
    }
  }

  function startDataset(event: FormEvent) {
    event.preventDefault();
    const body: DatasetImportRequest = {};
    if (limit) body.limit = Number(limit);
    if (sample) body.sample = Number(sample) / 100;
    start("/gather/imports", body);
  }

  function startUrls(event: FormEvent) {
    event.preventDefault();
    start("/gather/imports/urls", { urls: urls.split("\n").map((u) => u.trim()).filter(Boolean) });
  }

  return (
    <>
      <h1>Import</h1>
      <p className="lead">Bring in many photos at once: the configured Unsplash dataset folder, or a list of URLs.</p>

      <div className="two-columns">
        <form className="card" onSubmit={startUrls} aria-labelledby="urls-heading">
          <h2 id="urls-heading">A list of URLs</h2>
          <div className="field">
            <label htmlFor="urls">Photo URLs, one per line</label>
            <textarea id="urls" rows={6} value={urls} onChange={(e) => setUrls(e.target.value)}
                      placeholder="https://example.org/photo.jpg" />
          </div>
          <p className="muted">Private and loopback addresses are refused unless MOSAIC_URL_ALLOWLIST lists them.</p>
          <button type="submit" className="primary" disabled={busy || !urls.trim()}>
            Import URLs
          </button>
        </form>

        <form className="card" onSubmit={startDataset} aria-labelledby="dataset-heading">
          <h2 id="dataset-heading">The Unsplash dataset</h2>
          <p>
            Latest dataset import: {dataset.data ? `${dataset.data.status}, ${dataset.data.message}` : "…"}
          </p>
          <div className="field">
            <label htmlFor="limit">Only the first N photos (optional)</label>
            <input id="limit" type="number" min={1} value={limit} onChange={(e) => setLimit(e.target.value)} />
          </div>
          <div className="field">
            <label htmlFor="sample">A sample, in % of the photos (optional)</label>
            <input id="sample" type="number" min={0.01} max={100} step="any" value={sample}
                   onChange={(e) => setSample(e.target.value)} />
          </div>
          <button type="submit" className="primary" disabled={busy}>
            Import the dataset
          </button>
        </form>
      </div>

      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}

      {run && (
        <section className="card" aria-labelledby="progress-heading" data-import-state={run.state}>
          <h2 id="progress-heading">Import progress</h2>
          <p>
            {run.kind === "urls" ? "URL list" : "Dataset"}: {run.source}
          </p>
          <p>
            <label htmlFor="import-progress">
              {done(run)} of {run.total || "?"} done{" "}
            </label>
            <progress id="import-progress" max={run.total || 1} value={run.total ? done(run) : undefined} />
          </p>
          <dl className="counts">
            {(["stored", "duplicates", "skipped", "failed"] as const).map((name) => (
              <div key={name} data-count={name}>
                <dt>{name}</dt>
                <dd>{run[name]}</dd>
              </div>
            ))}
          </dl>
          <p role="status" aria-live="polite" className="import-state">
            {run.state === "completed" ? "Import complete" : run.state === "failed" ? "Import failed" : `Import ${run.state}…`}
            {run.message ? `: ${run.message}` : ""}
          </p>
          {batch && (
            <ul className="plain" aria-label="Imported files">
              {batch.files.map((file, i) => (
                <li key={i} className={`status-${file.status}`}>
                  {file.id ? <Link href={photoHref(file.id)}>{file.name}</Link> : file.name} — {file.status}
                  {file.reason ? `: ${file.reason}` : ""}
                  {file.state ? ` (${file.state})` : ""}
                </li>
              ))}
            </ul>
          )}
        </section>
      )}

      <section className="card" aria-labelledby="recent-heading">
        <h2 id="recent-heading">Recent imports</h2>
        {recent.data && recent.data.imports.length === 0 && <p>No import yet.</p>}
        {recent.data && recent.data.imports.length > 0 && (
          <table>
            <thead>
              <tr>
                <th scope="col">Started</th>
                <th scope="col">What</th>
                <th scope="col">State</th>
                <th scope="col">Stored / duplicates / failed</th>
                <th scope="col"><span className="visually-hidden">Follow</span></th>
              </tr>
            </thead>
            <tbody>
              {recent.data.imports.map((item) => (
                <tr key={item.id} data-import-id={item.id}>
                  <td>{new Date(item.started_at).toLocaleString()}</td>
                  <td>{item.kind === "urls" ? "URL list" : item.kind}: {item.source}</td>
                  <td>{item.state}</td>
                  <td>{item.stored} / {item.duplicates} / {item.failed}</td>
                  <td>
                    <button type="button" onClick={() => setImportId(item.id)} disabled={item.id === importId}
                            aria-label={`Follow the import of ${item.source}`}>
                      Follow
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </>
  );
}
