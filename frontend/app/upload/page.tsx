"use client";

import Link from "next/link";
import { DragEvent, useState } from "react";
import useSWR from "swr";
import { Batch, FileResult, getJson, message, photoHref, uploadFiles } from "@/lib/api";
import { every } from "@/lib/swr";

const FINAL = new Set(["indexed", "failed"]);
// Files go in small groups, one request each: per-file progress, and one bad request loses little.
const GROUP_FILES = 8;
const GROUP_BYTES = 20 * 1024 * 1024;
const PARALLEL_REQUESTS = 2;
const BATCHES_PER_POLL = 3;
const POLL_MS = 700;
// What a folder may hold besides photos (sidecars, .DS_Store) is left out rather than rejected one by one.
const PHOTO = /\.(jpe?g|png|webp|gif|tiff?|bmp|heic|heif|avif)$/i;

type Item = {
  file: File;
  name: string;
  progress: number;
  result?: FileResult;
  batch?: string;
  position?: number;
};

function finished(batch: Batch): boolean {
  return batch.files.every((f) => f.status === "rejected" || !f.id || FINAL.has(f.state ?? ""));
}

function describe(file: FileResult): string {
  if (file.status === "rejected") return `Rejected: ${file.reason ?? "unknown reason"}`;
  if (file.status === "duplicate") return `Duplicate of ${file.duplicate_of ?? file.id}`;
  return "Stored";
}

function groups(items: number[], files: File[]): number[][] {
  const made: number[][] = [];
  let current: number[] = [];
  let bytes = 0;
  for (const i of items) {
    if (current.length && (current.length >= GROUP_FILES || bytes + files[i].size > GROUP_BYTES)) {
      made.push(current);
      current = [];
      bytes = 0;
    }
    current.push(i);
    bytes += files[i].size;
  }
  if (current.length) made.push(current);
  return made;
}

/** Each file's share of a multipart body sent in order: its bytes plus an even part of the form's overhead. */
function fileProgress(sizes: number[], loaded: number, total: number): number[] {
  const overhead = Math.max(0, total - sizes.reduce((a, b) => a + b, 0)) / sizes.length;
  let start = 0;
  return sizes.map((size) => {
    const span = size + overhead;
    const part = Math.min(1, Math.max(0, (loaded - start) / (span || 1)));
    start += span;
    return part;
  });
}

export default function UploadPage() {
  const [chosen, setChosen] = useState<File[]>([]);
  const [skipped, setSkipped] = useState(0);
  const [dragging, setDragging] = useState(false);
  const [items, setItems] = useState<Item[] | null>(null);
  const [sending, setSending] = useState(false);
  const [batches, setBatches] = useState<Record<string, Batch>>({});
  const [batchIds, setBatchIds] = useState<string[]>([]);

  function choose(list: FileList | null, onlyPhotos = false) {
    if (!list) return;
    const all = Array.from(list);
    const kept = onlyPhotos ? all.filter((f) => f.type.startsWith("image/") || PHOTO.test(f.name)) : all;
    setSkipped((n) => n + all.length - kept.length);
    setChosen((current) => [...current, ...kept]);
    setItems(null);
    setBatches({});
    setBatchIds([]);
  }

  function onDrop(event: DragEvent) {
    event.preventDefault();
    setDragging(false);
    choose(event.dataTransfer.files);
  }

  function patch(index: number, change: Partial<Item>) {
    setItems((current) => current && current.map((item, i) => (i === index ? { ...item, ...change } : item)));
  }

  async function send(group: number[], files: File[]) {
    const sizes = group.map((i) => files[i].size);
    try {
      const answer = await uploadFiles(group.map((i) => files[i]), (loaded, total) =>
        fileProgress(sizes, loaded, total).forEach((part, k) => patch(group[k], { progress: part })),
      );
      group.forEach((i, k) => patch(i, { progress: 1, result: answer.files[k], batch: answer.batch ?? undefined,
                                         position: k }));
      if (answer.batch) setBatchIds((ids) => [...ids, answer.batch!]);
    } catch (e) {
      const reason = message(e);
      group.forEach((i) => patch(i, { result: { name: files[i].name, status: "rejected", id: null,
                                                duplicate_of: null, reason } }));
    }
  }

  async function upload() {
    const files = chosen;
    setItems(files.map((file) => ({ file, name: file.webkitRelativePath || file.name, progress: 0 })));
    setChosen([]);
    setSkipped(0);
    setSending(true);
    const queue = groups(files.map((_, i) => i), files);
    const worker = async () => {
      for (let group = queue.shift(); group; group = queue.shift()) await send(group, files);
    };
    await Promise.all(Array.from({ length: PARALLEL_REQUESTS }, worker));
    setSending(false);
  }

  // Follow every batch through the pipeline until each stored file is indexed or failed. Batches finish
  // roughly in upload order, so only the earliest unfinished few are asked about each round; what they answer
  // is kept here, since a finished batch is no longer asked about.
  const waiting = batchIds.filter((id) => !batches[id] || !finished(batches[id]));
  const polled = waiting.slice(0, BATCHES_PER_POLL);
  const { error: pollError } = useSWR(
    polled.length ? ["/gather/batches", ...polled] : null,
    ([, ...ids]) => Promise.all(ids.map((id) => getJson<Batch>(`/gather/batches/${encodeURIComponent(id)}`))),
    {
      ...every(POLL_MS),
      onSuccess: (found) => setBatches((known) => ({ ...known, ...Object.fromEntries(found.map((b) => [b.batch, b])) })),
    },
  );

  const counts: Record<string, number> = {};
  for (const batch of Object.values(batches))
    for (const [state, n] of Object.entries(batch.counts)) counts[state] = (counts[state] ?? 0) + n;
  const sent = items !== null && !sending;
  const done = sent && batchIds.length > 0 && waiting.length === 0;
  const choosing = chosen.length > 0;

  return (
    <>
      <h1>Upload</h1>
      <p className="lead">Add photos to the catalog. Each file is checked, stored once, and then analysed.</p>

      <div className={`card dropzone${dragging ? " dragging" : ""}`}
           onDragOver={(e) => {
             e.preventDefault();
             setDragging(true);
           }}
           onDragLeave={() => setDragging(false)}
           onDrop={onDrop}>
        <p>Drop photos here, or</p>
        <div className="row centred">
          <input id="files" type="file" multiple accept="image/*,.jpg,.jpeg,.png,.webp,.heic,.tif,.tiff"
                 className="visually-hidden" onChange={(e) => {
                   choose(e.target.files);
                   e.target.value = "";
                 }} />
          <label htmlFor="files" className="button">
            Choose photos…
          </label>
          {/* webkitdirectory: every browser's folder picker; not in React's typings. */}
          <input id="folder" type="file" multiple className="visually-hidden"
                 {...{ webkitdirectory: "", directory: "" }} onChange={(e) => {
                   choose(e.target.files, true);
                   e.target.value = "";
                 }} />
          <label htmlFor="folder" className="button">
            Choose a folder…
          </label>
        </div>
      </div>

      {choosing && (
        <section className="card" aria-label="Chosen files">
          <h2>
            {chosen.length} file{chosen.length === 1 ? "" : "s"} chosen
          </h2>
          {skipped > 0 && <p className="muted">{skipped} file{skipped === 1 ? "" : "s"} in the folder are not photos and were left out.</p>}
          <ul className="plain">
            {chosen.map((f, i) => (
              <li key={`${f.name}-${i}`}>
                {f.webkitRelativePath || f.name} <span className="muted">({Math.max(1, Math.round(f.size / 1024))} KB)</span>
              </li>
            ))}
          </ul>
          <div className="row">
            <button type="button" className="primary" onClick={upload} disabled={sending}>
              Upload {chosen.length} file{chosen.length === 1 ? "" : "s"}
            </button>
            <button type="button" onClick={() => { setChosen([]); setSkipped(0); }} disabled={sending}>
              Clear
            </button>
          </div>
        </section>
      )}

      {pollError && (
        <p role="alert" className="error">
          {message(pollError)}
        </p>
      )}

      {items && (
        <section aria-label="Upload results" className="card">
          <h2>Results</h2>
          <div className="table-scroll">
            <table>
              <thead>
                <tr>
                  <th scope="col">File</th>
                  <th scope="col">Upload</th>
                  <th scope="col">Result</th>
                  <th scope="col">Pipeline</th>
                </tr>
              </thead>
              <tbody>
                {items.map((item, i) => {
                  const file = item.result;
                  const live = item.batch !== undefined ? batches[item.batch]?.files[item.position ?? -1] : undefined;
                  const state = !file ? "sending" : file.status === "rejected" ? "—" : live?.state ?? "waiting";
                  const id = file?.id ?? file?.duplicate_of;
                  return (
                    <tr key={i} data-status={file?.status ?? "sending"} data-state={state}>
                      <td>{id ? <Link href={photoHref(id)}>{item.name}</Link> : item.name}</td>
                      <td>
                        <progress max={1} value={item.progress} aria-label={`Upload of ${item.name}`} />{" "}
                        {Math.round(item.progress * 100)}%
                      </td>
                      <td className={file ? `status-${file.status}` : undefined}>{file ? describe(file) : "…"}</td>
                      <td>
                        {state}
                        {live?.error ? `: ${live.error}` : ""}
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
          <p role="status" aria-live="polite" className="batch-summary">
            {!sent
              ? "Uploading…"
              : batchIds.length === 0
                ? "Nothing was stored."
                : `${done ? "Batch complete" : "Processing"}: ${
                    Object.entries(counts).map(([state, n]) => `${n} ${state}`).join(", ") || "…"}`}
          </p>
        </section>
      )}
    </>
  );
}
