"use client";

import { FormEvent, useState } from "react";
import { ExplanationPart, postJson, Recommendation, RecommendResponse } from "@/lib/api";

const MAX_TAGS = 5;

type Profile = {
  colour: string;
  width: string;
  height: string;
  orientation: string;
  tags: string[];
  make: string;
};

function payload(profile: Profile, profileId: string | null) {
  const body: Record<string, unknown> = { colour: profile.colour, orientation: profile.orientation, limit: 12 };
  if (profile.width) body.width = Number(profile.width);
  if (profile.height) body.height = Number(profile.height);
  if (profile.tags.length) body.tags = profile.tags;
  if (profile.make.trim()) body.make = profile.make.trim();
  if (profileId) body.profile_id = profileId;
  return body;
}

function parts(result: Recommendation): [string, ExplanationPart][] {
  return Object.entries(result.explanation ?? {}).filter(
    (entry): entry is [string, ExplanationPart] => !!entry[1] && typeof entry[1] === "object" && "text" in entry[1],
  );
}

export default function DiscoverPage() {
  const [profile, setProfile] = useState<Profile>({
    colour: "#4a7a3a",
    width: "",
    height: "",
    orientation: "any",
    tags: [],
    make: "",
  });
  const [tagDraft, setTagDraft] = useState("");
  const [profileId, setProfileId] = useState<string | null>(null);
  const [results, setResults] = useState<Recommendation[] | null>(null);
  const [note, setNote] = useState<string>("");
  const [error, setError] = useState<string>("");
  const [busy, setBusy] = useState(false);
  const [votes, setVotes] = useState<Record<string, "like" | "dislike">>({});

  const update = (field: keyof Profile) => (value: string) => setProfile((p) => ({ ...p, [field]: value }));

  function withTags(current: Profile, text: string): Profile {
    const tags = [...current.tags];
    for (const word of text.split(",").map((w) => w.trim().toLowerCase()))
      if (word && !tags.includes(word) && tags.length < MAX_TAGS) tags.push(word);
    return { ...current, tags };
  }

  function addTags(text: string) {
    setProfile((p) => withTags(p, text));
    setTagDraft("");
  }

  async function ask(current: Profile, id: string | null, message: string) {
    setBusy(true);
    setError("");
    try {
      const answer = await postJson<RecommendResponse>("/recommend/recommend", payload(current, id));
      setProfileId(answer.profile_id);
      setResults(answer.results);
      setNote(answer.results.length ? message : answer.message || "No photos match this profile yet.");
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  }

  async function submit(event: FormEvent) {
    event.preventDefault();
    const current = tagDraft.trim() ? withTags(profile, tagDraft) : profile;
    setProfile(current);
    setTagDraft("");
    setVotes({});
    await ask(current, profileId, "");
  }

  async function vote(result: Recommendation, choice: "like" | "dislike") {
    if (!profileId) return;
    setBusy(true);
    setError("");
    try {
      await postJson("/recommend/feedback", { profile_id: profileId, image_id: result.id, vote: choice });
      setVotes((v) => ({ ...v, [result.id]: choice }));
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
      setBusy(false);
      return;
    }
    await ask(profile, profileId, `Results updated after your ${choice}.`);
  }

  return (
    <>
      <h1>Discover</h1>
      <p className="lead">Describe the photos you want; each result says why it was chosen.</p>
      <form className="card profile" onSubmit={submit} aria-label="Preferences">
        <div className="field">
          <label htmlFor="colour">Colour</label>
          <input id="colour" type="color" value={profile.colour} onChange={(e) => update("colour")(e.target.value)} />
        </div>
        <div className="field">
          <label htmlFor="width">Width (px)</label>
          <input id="width" type="number" min={1} inputMode="numeric" value={profile.width}
                 onChange={(e) => update("width")(e.target.value)} />
        </div>
        <div className="field">
          <label htmlFor="height">Height (px)</label>
          <input id="height" type="number" min={1} inputMode="numeric" value={profile.height}
                 onChange={(e) => update("height")(e.target.value)} />
        </div>
        <div className="field">
          <label htmlFor="orientation">Orientation</label>
          <select id="orientation" value={profile.orientation} onChange={(e) => update("orientation")(e.target.value)}>
            <option value="any">Any</option>
            <option value="landscape">Landscape</option>
            <option value="portrait">Portrait</option>
            <option value="square">Square</option>
          </select>
        </div>
        <div className="field">
          <label htmlFor="make">Camera make</label>
          <input id="make" type="text" value={profile.make} placeholder="e.g. Canon"
                 onChange={(e) => update("make")(e.target.value)} />
        </div>
        <div className="field wide">
          <label htmlFor="tag">Tags (up to {MAX_TAGS})</label>
          <div className="row">
            <input id="tag" type="text" value={tagDraft} placeholder="e.g. dog" disabled={profile.tags.length >= MAX_TAGS}
                   onChange={(e) => setTagDraft(e.target.value)}
                   onKeyDown={(e) => {
                     if (e.key === "Enter" && tagDraft.trim()) {
                       e.preventDefault();
                       addTags(tagDraft);
                     }
                   }} />
            <button type="button" onClick={() => addTags(tagDraft)}
                    disabled={!tagDraft.trim() || profile.tags.length >= MAX_TAGS}>
              Add tag
            </button>
          </div>
          <ul className="chips" aria-label="Chosen tags">
            {profile.tags.map((tag) => (
              <li key={tag}>
                {tag}
                <button type="button" aria-label={`Remove tag ${tag}`}
                        onClick={() => setProfile((p) => ({ ...p, tags: p.tags.filter((t) => t !== tag) }))}>
                  ×
                </button>
              </li>
            ))}
          </ul>
        </div>
        <div className="actions">
          <button type="submit" className="primary" disabled={busy}>
            Find photos
          </button>
        </div>
      </form>

      <div role="status" aria-live="polite" className="note">
        {busy ? "Searching…" : note}
      </div>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}

      {results && (
        <section aria-label="Results">
          <h2>Results ({results.length})</h2>
          <ol className="grid">
            {results.map((result) => (
              <li key={result.id} className="card result" data-image-id={result.id}>
                <a href={result.url}>
                  <img src={result.thumbnail_url} alt={`Photo ${result.id}`} loading="lazy" />
                </a>
                <p className="score">Score {result.score.toFixed(2)}</p>
                <p className="summary">{result.summary}</p>
                <ul className="why">
                  {parts(result).map(([name, part]) => (
                    <li key={name} className={part.met ? "met" : "unmet"}>
                      <span aria-hidden="true">{part.met ? "✓" : "·"}</span> {part.text}
                    </li>
                  ))}
                </ul>
                <div className="row">
                  <button type="button" aria-pressed={votes[result.id] === "like"} disabled={busy}
                          aria-label={`Like photo ${result.id}`} onClick={() => vote(result, "like")}>
                    Like
                  </button>
                  <button type="button" aria-pressed={votes[result.id] === "dislike"} disabled={busy}
                          aria-label={`Dislike photo ${result.id}`} onClick={() => vote(result, "dislike")}>
                    Dislike
                  </button>
                </div>
              </li>
            ))}
          </ol>
        </section>
      )}
    </>
  );
}
