"use client";

import { DragEvent, useEffect, useRef, useState } from "react";
import { Batch, FileResult, getJson, uploadFiles } from "@/lib/api";

const FINAL = new Set(["indexed", "failed"]);

function finished(batch: Batch): boolean {
  return batch.files.every((f) => f.status === "rejected" || !f.id || FINAL.has(f.state ?? ""));
}

function describe(file: FileResult): string {
  if (file.status === "rejected") return `Rejected: ${file.reason ?? "unknown reason"}`;
  if (file.status === "duplicate") return `Duplicate of ${file.duplicate_of ?? file.id}`;
  return "Stored";
}

export default function UploadPage() {
  const input = useRef<HTMLInputElement>(null);
  const [files, setFiles] = useState<File[]>([]);
  const [dragging, setDragging] = useState(false);
  const [progress, setProgress] = useState<number | null>(null);
  const [results, setResults] = useState<FileResult[] | null>(null);
  const [batch, setBatch] = useState<Batch | null>(null);
  const [batchId, setBatchId] = useState<string | null>(null);
  const [error, setError] = useState("");

  function choose(list: FileList | null) {
    if (!list) return;
    setFiles((current) => [...current, ...Array.from(list)]);
    setResults(null);
    setBatch(null);
    setBatchId(null);
  }

  function onDrop(event: DragEvent) {
    event.preventDefault();
    setDragging(false);
    choose(event.dataTransfer.files);
  }

  async function upload() {
    setError("");
    setProgress(0);
    try {
      const answer = await uploadFiles(files, setProgress);
      setResults(answer.files);
      setBatchId(answer.batch);
      setFiles([]);
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      setProgress(null);
    }
  }

  // Follow the batch through the pipeline until every stored file is indexed or failed.
  useEffect(() => {
    if (!batchId) return;
    let stop = false;
    let timer: ReturnType<typeof setTimeout>;
    const poll = async () => {
      try {
        const found = await getJson<Batch>(`/gather/batches/${encodeURIComponent(batchId)}`);
        if (stop) return;
        setBatch(found);
        if (finished(found)) return;
      } catch (e) {
        if (!stop) setError(e instanceof Error ? e.message : String(e));
      }
      if (!stop) timer = setTimeout(poll, 700);
    };
    poll();
    return () => {
      stop = true;
      clearTimeout(timer);
    };
  }, [batchId]);

  const states = new Map((batch?.files ?? []).map((f, i) => [i, f]));
  const done = batch ? finished(batch) : false;

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
        <input id="files" ref={input} type="file" multiple accept="image/*,.jpg,.jpeg,.png,.webp,.heic,.tif,.tiff"
               className="visually-hidden" onChange={(e) => {
                 choose(e.target.files);
                 e.target.value = "";
               }} />
        <label htmlFor="files" className="button">
          Choose photos…
        </label>
      </div>

      {files.length > 0 && (
        <section className="card" aria-label="Chosen files">
          <h2>{files.length} file{files.length === 1 ? "" : "s"} chosen</h2>
          <ul className="plain">
            {files.map((f, i) => (
              <li key={`${f.name}-${i}`}>
                {f.name} <span className="muted">({Math.max(1, Math.round(f.size / 1024))} KB)</span>
              </li>
            ))}
          </ul>
          <div className="row">
            <button type="button" className="primary" onClick={upload} disabled={progress !== null}>
              Upload {files.length} file{files.length === 1 ? "" : "s"}
            </button>
            <button type="button" onClick={() => setFiles([])} disabled={progress !== null}>
              Clear
            </button>
          </div>
        </section>
      )}

      {progress !== null && (
        <p>
          <label htmlFor="upload-progress">Uploading </label>
          <progress id="upload-progress" max={1} value={progress} /> {Math.round(progress * 100)}%
        </p>
      )}

      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}

      {results && (
        <section aria-label="Upload results" className="card">
          <h2>Results</h2>
          <table>
            <thead>
              <tr>
                <th scope="col">File</th>
                <th scope="col">Result</th>
                <th scope="col">Pipeline</th>
              </tr>
            </thead>
            <tbody>
              {results.map((file, i) => {
                const live = states.get(i);
                const state = file.status === "rejected" ? "—" : live?.state ?? "waiting";
                return (
                  <tr key={`${file.name}-${i}`} data-status={file.status} data-state={state}>
                    <td>{file.name}</td>
                    <td className={`status-${file.status}`}>{describe(file)}</td>
                    <td>
                      {state}
                      {live?.error ? `: ${live.error}` : ""}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
          <p role="status" aria-live="polite" className="batch-summary">
            {batch
              ? `${done ? "Batch complete" : "Processing"}: ${Object.entries(batch.counts)
                  .map(([state, n]) => `${n} ${state}`)
                  .join(", ")}`
              : batchId
                ? "Following the batch…"
                : "Nothing was stored."}
          </p>
        </section>
      )}
    </>
  );
}
