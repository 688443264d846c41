"use client";

import { useRouter } from "next/navigation";
import { FormEvent, useState } from "react";

/** The header's search: every page has it; the results are on /search?q=. */
export default function SearchBox() {
  const router = useRouter();
  const [q, setQ] = useState("");

  function submit(event: FormEvent) {
    event.preventDefault();
    if (q.trim()) router.push(`/search?q=${encodeURIComponent(q.trim())}`);
  }

  // A plain GET form too, so it searches before the page's scripts have loaded.
  return (
    <form role="search" action="/search" method="get" className="search-box" onSubmit={submit}>
      <label htmlFor="site-search" className="visually-hidden">Search photos</label>
      <input id="site-search" name="q" type="search" value={q} maxLength={500} placeholder="Search: dog, make:canon"
             onChange={(e) => setQ(e.target.value)} />
      {/* Named apart from the pages' own Search buttons (Colours has one). */}
      <button type="submit" aria-label="Search photos">Search</button>
    </form>
  );
}
