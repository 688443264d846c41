"use client";

import { Suspense, useMemo, useState } from "react";
import Confirm from "@/components/Confirm";
import LoadMore from "@/components/LoadMore";
import PhotoGrid, { useSelection } from "@/components/PhotoGrid";
import Toast from "@/components/Toast";
import { BulkRestore, BulkRestored, message, postJson, Emptying, TrashItem, TrashPage } from "@/lib/api";
import { useCursorPages } from "@/lib/swr";
import { useSearchParams } from "next/navigation";

const DAY = 24 * 60 * 60 * 1000;

function day(iso: string): string {
  return new Date(iso).toLocaleDateString("en", { year: "numeric", month: "short", day: "numeric" });
}

function Trash() {
  const params = useSearchParams();
  const limit = Math.min(200, Math.max(1, Number(params.get("limit")) || 60));
  const pages = useCursorPages<TrashPage>(`/gather/trash?limit=${limit}`);
  const photos = useMemo(() => pages.loaded.flatMap((page) => page.photos), [pages.loaded]);
  const total = pages.loaded[0]?.total ?? 0;
  const selection = useSelection();
  const [now] = useState(() => Date.now());
  const [note, setNote] = useState("");
  const [error, setError] = useState("");
  const [asking, setAsking] = useState(false);
  const [busy, setBusy] = useState(false);
  const chosen = [...selection.selected];

  function left(photo: TrashItem): string {
    const days = Math.max(0, Math.ceil((new Date(photo.purge_after).getTime() - now) / DAY));
    return days === 0 ? "purged today" : `${days} day${days === 1 ? "" : "s"} left`;
  }

  async function restore() {
    setBusy(true);
    setError("");
    try {
      const answer = await postJson<BulkRestored>("/gather/images/restore", { ids: chosen } satisfies BulkRestore);
      selection.clear();
      setNote(`Restored ${answer.restored} photo${answer.restored === 1 ? "" : "s"} to the Library.`);
      await pages.mutate();
    } catch (e) {
      setError(message(e));
    } finally {
      setBusy(false);
    }
  }

  async function empty() {
    setAsking(false);
    setBusy(true);
    setError("");
    try {
      const answer = await postJson<Emptying>("/gather/trash/empty", {});
      selection.clear();
      setNote(`Deleting ${answer.purging} photo${answer.purging === 1 ? "" : "s"} for good.`);
      await pages.mutate();
    } catch (e) {
      setError(message(e));
    } finally {
      setBusy(false);
    }
  }

  return (
    <>
      <h1>Trash</h1>
      <p className="lead">
        Photos moved to the trash stay here until their purge date, then are deleted for good (the original, its
        renditions and its features). Restore them before then, or empty the trash now.
      </p>
      <div className="toolbar row" role="group" aria-label="Selection">
        <span>{total} in the trash · {chosen.length} selected</span>
        <button type="button" disabled={!chosen.length || busy} onClick={restore}>
          Restore
        </button>
        <button type="button" disabled={!chosen.length} onClick={selection.clear}>
          Clear selection
        </button>
        <button type="button" className="danger" disabled={!total || busy} onClick={() => setAsking(true)}>
          Empty trash
        </button>
      </div>
      <Toast note={note} onDismiss={() => setNote("")} />
      {(error || pages.error) && <p role="alert" className="error">{error || pages.error?.message}</p>}
      {pages.data && photos.length === 0 && <p>The trash is empty.</p>}
      <PhotoGrid<TrashItem> photos={photos} label="Photos in the trash" selection={selection} monthKey={null}
                            caption={(p) => (
                              <span>
                                Deleted {day(p.deleted_at)} · {left(p)}
                              </span>
                            )} />
      <LoadMore hasMore={pages.hasMore} loading={pages.loading} onMore={pages.more} count={photos.length} />
      <Confirm open={asking} title="Empty the trash?" confirm="Delete for good" onConfirm={empty}
               onCancel={() => setAsking(false)}>
        <p>
          {total} photo{total === 1 ? "" : "s"} will be deleted for good: originals, renditions and features. This
          cannot be undone.
        </p>
      </Confirm>
    </>
  );
}

export default function TrashRoute() {
  return (
    <Suspense fallback={<p className="muted">Loading…</p>}>
      <Trash />
    </Suspense>
  );
}
