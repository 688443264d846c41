"use client";

import { FormEvent, useState } from "react";
import { setApiToken, TOKEN_KEY } from "@/lib/api";
import { useStoredText } from "@/lib/stored";

/** The API token the pages send with every change they ask for (uploads, imports, votes, resolving). */
export default function TokenSetting() {
  const [draft, setDraft] = useState("");
  const saved = !!useStoredText(TOKEN_KEY);

  function save(event: FormEvent) {
    event.preventDefault();
    setApiToken(draft.trim());
    setDraft("");
  }

  return (
    <details className="token">
      <summary>API token{saved ? " ✓" : ""}</summary>
      <form onSubmit={save} className="row">
        <label htmlFor="api-token">Token for uploads and changes</label>
        <input id="api-token" type="password" autoComplete="off" value={draft}
               placeholder={saved ? "saved in this browser" : "printed by mosaic run"}
               onChange={(e) => setDraft(e.target.value)} />
        <button type="submit">{draft.trim() || !saved ? "Save token" : "Forget token"}</button>
      </form>
    </details>
  );
}
