"use client";

import { useEffect, useRef } from "react";

/** The end of an endless list: asks for the next page when it scrolls into view, or when its button is pressed. */
export default function LoadMore({ hasMore, loading, onMore, count, noun = "photo" }: {
  hasMore: boolean;
  loading: boolean;
  onMore: () => void;
  count: number;
  noun?: string;
}) {
  const ref = useRef<HTMLDivElement>(null);
  const latest = useRef(onMore);
  useEffect(() => {
    latest.current = onMore;
  });
  useEffect(() => {
    const element = ref.current;
    if (!element || !hasMore || loading) return;
    const observer = new IntersectionObserver((entries) => {
      if (entries.some((entry) => entry.isIntersecting)) latest.current();
    }, { rootMargin: "600px 0px" });
    observer.observe(element);
    return () => observer.disconnect();
  }, [hasMore, loading]);
  return (
    <div ref={ref} className="load-more row centred" data-count={count}>
      <span className="muted" aria-live="polite">
        {loading ? "Loading…" : `${count} ${noun}${count === 1 ? "" : "s"}${hasMore ? "" : ", the end"}`}
      </span>
      {hasMore && !loading && (
        <button type="button" onClick={onMore}>
          Load more
        </button>
      )}
    </div>
  );
}
