// What this browser keeps in localStorage (the API token, saved profile names), read by components through
// useSyncExternalStore: the exported HTML renders without it, the browser's value replaces it on hydration, and a
// change in another tab or component shows everywhere.

import { useSyncExternalStore } from "react";

const CHANGED = "mosaic:stored";

function subscribe(onChange: () => void): () => void {
  window.addEventListener("storage", onChange);
  window.addEventListener(CHANGED, onChange);
  return () => {
    window.removeEventListener("storage", onChange);
    window.removeEventListener(CHANGED, onChange);
  };
}

/** The text stored under `key` (null when none, and while the page is rendered ahead of time). */
export function useStoredText(key: string): string | null {
  return useSyncExternalStore(subscribe, () => window.localStorage.getItem(key), () => null);
}

export function readStoredText(key: string): string | null {
  return typeof window === "undefined" ? null : window.localStorage.getItem(key);
}

/** Store `value` under `key` (null: remove it), and tell the components reading it. */
export function storeText(key: string, value: string | null): void {
  if (value === null) window.localStorage.removeItem(key);
  else window.localStorage.setItem(key, value);
  window.dispatchEvent(new Event(CHANGED));
}
