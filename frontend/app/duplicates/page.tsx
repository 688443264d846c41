"use client";

import { useState } from "react";
import GroupView from "@/components/GroupView";
import { DuplicateGroup, Duplicates, message, postJson, ResolveRequest, Resolved } from "@/lib/api";
import { useApi } from "@/lib/swr";

export default function DuplicatesPage() {
  const [showResolved, setShowResolved] = useState(false);
  const { data, error: loadError, mutate } = useApi<Duplicates>(
    `/recommend/duplicates${showResolved ? "" : "?resolved=false"}`, { keepPreviousData: true },
  );
  const [error, setError] = useState("");
  const [note, setNote] = useState("");
  const [busy, setBusy] = useState<string | null>(null);
  const groups = data?.groups;
  const total = data?.total ?? 0;
  const shownError = error || loadError?.message;

  async function resolve(group: DuplicateGroup, keep?: string, trashOthers = false) {
    setBusy(group.id);
    setError("");
    try {
      const body: ResolveRequest = keep ? { keep } : {};
      if (trashOthers) body.trash_others = true;
      const answer = await postJson<Resolved>(`/recommend/duplicates/${encodeURIComponent(group.id)}/resolve`, body);
      const kept = answer.group.kept === answer.group.best ? "the best photo" : "the photo you chose";
      const moved = answer.trashed.length
        ? ` ${answer.trashed.length} other${answer.trashed.length === 1 ? "" : "s"} moved to the trash.` : "";
      setNote(`Group of ${answer.group.members.length} resolved: ${kept} is kept.${moved}`);
      await mutate();
    } catch (e) {
      setError(message(e));
    } finally {
      setBusy(null);
    }
  }

  return (
    <>
      <h1>Duplicates</h1>
      <p className="lead">
        Photos that are copies of one another (resized, recompressed, cropped). Each group marks its best member
        and says why; resolving a group keeps it settled until a new copy joins it.
      </p>
      <div className="row">
        <input id="show-resolved" type="checkbox" checked={showResolved}
               onChange={(e) => setShowResolved(e.target.checked)} />
        <label htmlFor="show-resolved">Show resolved groups too</label>
        <button type="button" onClick={() => mutate()}>
          Refresh
        </button>
      </div>
      <div role="status" aria-live="polite" className="note">
        {note}
      </div>
      {shownError && (
        <p role="alert" className="error">
          {shownError}
        </p>
      )}
      {groups && (
        <section aria-labelledby="groups-heading">
          <h2 id="groups-heading">
            {total} {showResolved ? "" : "open "}group{total === 1 ? "" : "s"}
          </h2>
          {groups.length === 0 && <p>No duplicates to review.</p>}
          <ol className="plain">
            {groups.map((group, i) => (
              <li key={group.id} className="card group" data-group-id={group.id}
                  aria-label={`Group ${i + 1} of ${group.members.length} photos`}>
                <h3>
                  Group {i + 1}: {group.members.length} photos
                </h3>
                <GroupView group={group}
                           onKeep={group.resolved || busy !== null ? undefined : (id) => resolve(group, id)}
                           onKeepTrash={group.resolved || busy !== null ? undefined : (id) => resolve(group, id, true)} />
                {!group.resolved && (
                  <button type="button" className="primary" disabled={busy !== null}
                          onClick={() => resolve(group)}>
                    Keep the best, mark resolved
                  </button>
                )}
              </li>
            ))}
          </ol>
        </section>
      )}
    </>
  );
}
