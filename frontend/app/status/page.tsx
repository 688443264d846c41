"use client";

import { useState } from "react";
import { useSWRConfig } from "swr";
import { GatewayHealth, Health, message, PipelineStatus, postJson, Retried } from "@/lib/api";
import { every, useApi } from "@/lib/swr";

const SERVICES = ["gather", "harvest", "recommend", "visualize", "cdn"];
const POLL = every(5000);
const STATUS = "/harvest/status";
const healthUrl = (service: string) => `/${service}/api/v1/health`;

function ServiceRow({ name }: { name: string }) {
  const { data, error } = useApi<Health>(healthUrl(name), POLL);
  // An answer that fails (the service is down) wins over the last good one SWR keeps.
  const status = error ? "down" : data?.status;
  return (
    <tr data-service={name}>
      <td>{name}</td>
      <td className={`health-${status ?? "unknown"}`}>
        {status ?? "checking…"}
        {error ? ` (${error.message})` : ""}
      </td>
    </tr>
  );
}

export default function StatusPage() {
  const { mutate } = useSWRConfig();
  const { data: status, error } = useApi<PipelineStatus>(STATUS, POLL);
  const { data: gateway } = useApi<GatewayHealth>("/api/v1/health");
  const links = gateway?.links;
  const [note, setNote] = useState("");
  const [busy, setBusy] = useState(false);

  const refresh = () => mutate((key) => key === STATUS || SERVICES.some((name) => key === healthUrl(name)));

  async function retry() {
    setBusy(true);
    try {
      const answer = await postJson<Retried>("/harvest/retry", {});
      setNote(`Retried ${answer.retried} image${answer.retried === 1 ? "" : "s"}.`);
      await refresh();
    } catch (e) {
      setNote(`Retry failed: ${message(e)}`);
    } finally {
      setBusy(false);
    }
  }

  return (
    <>
      <h1>Status</h1>
      <div className="row">
        <button type="button" onClick={() => refresh()}>
          Refresh
        </button>
        <button type="button" onClick={retry} disabled={busy}>
          Retry failed
        </button>
        <span role="status" aria-live="polite">
          {note}
        </span>
      </div>
      {links && (
        <p className="muted">
          {links.lab && (
            <>
              <a href={links.lab} target="_blank" rel="noopener noreferrer">
                Open the lab
              </a>{" "}
              (Jupyter Lab with the analysts&apos; notebooks; start it with <code>mosaic lab</code>, it asks for its
              token) ·{" "}
            </>
          )}
          <a href={links.api_docs}>API documentation</a>
        </p>
      )}
      {error && (
        <p role="alert" className="error">
          {error.message}
        </p>
      )}

      <section className="card" aria-labelledby="services-heading">
        <h2 id="services-heading">Services</h2>
        <table>
          <thead>
            <tr>
              <th scope="col">Service</th>
              <th scope="col">Health</th>
            </tr>
          </thead>
          <tbody>
            {SERVICES.map((name) => <ServiceRow key={name} name={name} />)}
          </tbody>
        </table>
      </section>
      {status && status.unavailable && Object.keys(status.unavailable).length > 0 && (
        <ul role="alert" className="error" aria-label="Unavailable backends">
          {Object.entries(status.unavailable).map(([backend, reason]) => (
            <li key={backend} data-unavailable={backend}>
              The {backend} is unreachable ({reason}): what it holds is not shown until it is back.
            </li>
          ))}
        </ul>
      )}

      {status && (
        <>
          <section className="card" aria-labelledby="counts-heading">
            <h2 id="counts-heading">Images by state</h2>
            <p>
              {status.total ?? "?"} images in all; {status.rate_per_minute ?? "?"} indexed per minute lately.
              {status.oldest_waiting &&
                ` Oldest waiting: ${status.oldest_waiting.name} (${status.oldest_waiting.state}).`}
            </p>
            <dl className="counts">
              {Object.entries(status.counts).map(([state, n]) => (
                <div key={state} data-state={state}>
                  <dt>{state}</dt>
                  <dd>{n}</dd>
                </div>
              ))}
            </dl>
          </section>

          <section className="card" aria-labelledby="queues-heading">
            <h2 id="queues-heading">Queues</h2>
            <table>
              <thead>
                <tr>
                  <th scope="col">Queue</th>
                  <th scope="col">Depth</th>
                  <th scope="col">Dead letters</th>
                </tr>
              </thead>
              <tbody>
                {Object.entries(status.queues).map(([name, q]) => (
                  <tr key={name}>
                    <td>{name}</td>
                    <td>{q.depth ?? "?"}</td>
                    <td>{q.dead_count ?? "?"}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </section>

          <section className="card" aria-labelledby="steps-heading">
            <h2 id="steps-heading">Features</h2>
            {Object.keys(status.degraded).length === 0 && status.step_failures.length === 0 ? (
              <p>Every enrichment step is available and none has failed.</p>
            ) : (
              <>
                {Object.keys(status.degraded).length > 0 && (
                  <ul aria-label="Degraded features">
                    {Object.entries(status.degraded).map(([name, reason]) => (
                      <li key={name} data-degraded={name} className="error">
                        {name} is unavailable on the workers: {reason}
                      </li>
                    ))}
                  </ul>
                )}
                {status.step_failures.length > 0 && (
                  <>
                    <ul aria-label="Failed steps">
                      {status.step_failures.map((f) => (
                        <li key={f.step} data-step={f.step}>
                          {f.step} failed on {f.photos} photo{f.photos === 1 ? "" : "s"}: {f.reason}
                        </li>
                      ))}
                    </ul>
                    <p className="muted">
                      These photos are indexed with every other feature. &ldquo;Retry failed&rdquo; runs only the
                      failed steps again.
                    </p>
                  </>
                )}
              </>
            )}
          </section>

          <section className="card" aria-labelledby="failures-heading">
            <h2 id="failures-heading">Recent failures</h2>
            {status.recent_failures.length === 0 ? (
              <p>No failures.</p>
            ) : (
              <table>
                <thead>
                  <tr>
                    <th scope="col">File</th>
                    <th scope="col">Reason</th>
                    <th scope="col">When</th>
                  </tr>
                </thead>
                <tbody>
                  {status.recent_failures.map((f) => (
                    <tr key={f.id}>
                      <td>{f.name}</td>
                      <td>{f.reason}</td>
                      <td>{new Date(f.at).toLocaleString()}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </section>
        </>
      )}
    </>
  );
}
