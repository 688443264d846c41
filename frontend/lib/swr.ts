// Reading the API with SWR: one cache per URL, shared by every component that asks for it, revalidated when the
// tab regains focus, polled where a page follows something that moves. Changes stay plain calls (postJson,
// uploadFiles) followed by SWR's `mutate` on what they changed.

import { useEffect, useState } from "react";
import useSWR, { type SWRConfiguration } from "swr";
import useSWRInfinite from "swr/infinite";
import { getJson } from "./api";

/** GET `url` (null: not yet) as JSON of type T. */
export function useApi<T>(url: string | null, config?: SWRConfiguration<T, Error>) {
  return useSWR<T, Error>(url, getJson<T>, config);
}

/** Polling every `ms` milliseconds (SWR otherwise serves requests less than 2 s apart from one answer). */
export function every(ms: number) {
  return { refreshInterval: ms, dedupingInterval: Math.min(ms / 2, 2000) } satisfies SWRConfiguration;
}

/** `value` once it has stopped changing for `ms` milliseconds: a key that follows typing without a request per key. */
export function useDebounced<T>(value: T, ms: number): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setSettled(value), ms);
    return () => clearTimeout(timer);
  }, [value, ms]);
  return settled;
}

/** Pages of `url` (null: not yet) followed by their `next_cursor`: `more()` asks for the next one. */
export function useCursorPages<T extends { next_cursor: string | null }>(url: string | null) {
  const pages = useSWRInfinite<T, Error>(
    (index, previous: T | null) => {
      if (!url) return null;
      if (index === 0) return url;
      if (!previous?.next_cursor) return null;
      return `${url}${url.includes("?") ? "&" : "?"}cursor=${encodeURIComponent(previous.next_cursor)}`;
    },
    getJson<T>,
    { revalidateFirstPage: false, revalidateOnFocus: false },
  );
  const loaded = pages.data ?? [];
  const last = loaded[loaded.length - 1];
  const loading = pages.isLoading || (pages.size > 0 && loaded.length < pages.size && !pages.error);
  return {
    ...pages,
    loaded,
    hasMore: !!last?.next_cursor,
    loading,
    more: () => pages.setSize((size) => (loaded.length < size ? size : size + 1)),
  };
}
