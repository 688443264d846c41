"use client";

import { FormEvent, useMemo, useState } from "react";
import ResultGrid from "@/components/ResultGrid";
import {
  ExplanationPart,
  FeedbackRequest,
  getJson,
  Labels,
  Makes,
  message,
  postJson,
  Recommendation,
  RecommendRequest,
  RecommendResponse,
  Results,
  SavedProfile,
} from "@/lib/api";
import { readStoredText, storeText, useStoredText } from "@/lib/stored";
import { useApi, useDebounced } from "@/lib/swr";

const MAX_TAGS = 5;
// Profiles live in the catalog (every search stores one); this browser remembers the ids under names.
const SAVED_KEY = "mosaic.saved-profiles";

type Saved = { name: string; id: string };

function savedProfiles(text: string | null): Saved[] {
  try {
    const parsed = JSON.parse(text ?? "[]");
    return Array.isArray(parsed) ? parsed : [];
  } catch {
    return [];
  }
}

type Profile = {
  colour: string;
  width: string;
  height: string;
  orientation: NonNullable<RecommendRequest["orientation"]>;
  tags: string[];
  make: string;
};

function payload(profile: Profile, profileId: string | null): RecommendRequest {
  const body: RecommendRequest = { colour: profile.colour, orientation: profile.orientation, limit: 12 };
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
  const [likeOf, setLikeOf] = useState<string | null>(null);
  const savedText = useStoredText(SAVED_KEY);
  const saved = useMemo(() => savedProfiles(savedText), [savedText]);
  const [saveName, setSaveName] = useState("");
  const [chosenSaved, setChosenSaved] = useState("");
  const makes = useApi<Makes>("/recommend/makes?limit=100").data?.makes ?? [];
  // Labels the catalog knows that start with what is typed (the most common ones when nothing is), asked once
  // typing pauses; the last ones stay listed meanwhile.
  const prefix = useDebounced(tagDraft.trim().toLowerCase(), 150);
  const suggested = useApi<Labels>(`/recommend/labels?limit=8&prefix=${encodeURIComponent(prefix)}`, {
    keepPreviousData: true,
  }).data?.labels ?? [];

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

  async function ask(current: Profile, id: string | null, note: string) {
    setBusy(true);
    setError("");
    try {
      const answer = await postJson<RecommendResponse>("/recommend/recommend", payload(current, id));
      setProfileId(answer.profile_id);
      setResults(answer.results);
      setLikeOf(null);
      setNote(answer.results.length ? note : answer.message || "No photos match this profile yet.");
    } catch (e) {
      setError(message(e));
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
      await postJson("/recommend/feedback",
                     { profile_id: profileId, image_id: result.id, vote: choice } satisfies FeedbackRequest);
      setVotes((v) => ({ ...v, [result.id]: choice }));
    } catch (e) {
      setError(message(e));
      setBusy(false);
      return;
    }
    await ask(profile, profileId, `Results updated after your ${choice}.`);
  }

  async function moreLike(result: Recommendation) {
    setBusy(true);
    setError("");
    try {
      const answer = await getJson<Results>(`/recommend/similar/${encodeURIComponent(result.id)}?limit=12`);
      setResults(answer.results);
      setLikeOf(result.id);
      setNote(answer.results.length ? `Photos like ${result.id}.` : "No similar photos yet.");
    } catch (e) {
      setError(message(e));
    } finally {
      setBusy(false);
    }
  }

  function save(event: FormEvent) {
    event.preventDefault();
    if (!profileId || !saveName.trim()) return;
    const name = saveName.trim();
    const next = [...savedProfiles(readStoredText(SAVED_KEY)).filter((p) => p.name !== name), { name, id: profileId }];
    storeText(SAVED_KEY, JSON.stringify(next));
    setSaveName("");
    setNote(`Profile saved as “${name}”.`);
  }

  async function load(event: FormEvent) {
    event.preventDefault();
    const chosen = saved.find((p) => p.id === chosenSaved);
    if (!chosen) return;
    setError("");
    try {
      const found = await getJson<SavedProfile>(`/recommend/profiles/${encodeURIComponent(chosen.id)}`);
      const p = found.preferences;
      const loaded: Profile = {
        colour: p.colour ?? profile.colour,
        width: p.width ? String(p.width) : "",
        height: p.height ? String(p.height) : "",
        orientation: p.orientation,
        tags: p.tags,
        make: p.make ?? "",
      };
      setProfile(loaded);
      setVotes({});
      const { likes = 0, dislikes = 0 } = found.feedback;
      await ask(loaded, found.id, `Loaded “${chosen.name}” (${likes} likes, ${dislikes} dislikes).`);
    } catch (e) {
      setError(message(e));
    }
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
          <input id="make" type="text" value={profile.make} placeholder="e.g. Canon" list="make-choices"
                 onChange={(e) => update("make")(e.target.value)} />
          <datalist id="make-choices">
            {makes.map((m) => <option key={m.make} value={m.make}>{`${m.make} (${m.count} photos)`}</option>)}
          </datalist>
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
          {suggested.length > 0 && profile.tags.length < MAX_TAGS && (
            <ul className="suggestions" aria-label="Tag suggestions">
              {suggested.filter((s) => !profile.tags.includes(s.label.toLowerCase())).map((s) => (
                <li key={s.label}>
                  {/* Named by its text, which holds what it shows ("dog 2"): "Add tag dog 2 photos". */}
                  <button type="button" onClick={() => addTags(s.label)}>
                    <span className="visually-hidden">Add tag </span>
                    {s.label}{" "}
                    <span className="muted">
                      {s.count}
                      <span className="visually-hidden"> photos</span>
                    </span>
                  </button>
                </li>
              ))}
            </ul>
          )}
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

      <section className="card saved" aria-labelledby="saved-heading">
        <h2 id="saved-heading">Saved profiles</h2>
        <div className="two-columns">
          <form onSubmit={save} className="row" aria-label="Save profile">
            <label htmlFor="save-name">Save this profile as</label>
            <input id="save-name" type="text" value={saveName} onChange={(e) => setSaveName(e.target.value)} />
            <button type="submit" disabled={!profileId || !saveName.trim()}>
              Save profile
            </button>
            {!profileId && <span className="muted">Search once to create the profile.</span>}
          </form>
          <form onSubmit={load} className="row" aria-label="Load profile">
            <label htmlFor="saved-profile">Saved profile</label>
            <select id="saved-profile" value={chosenSaved} onChange={(e) => setChosenSaved(e.target.value)}>
              <option value="">Choose…</option>
              {saved.map((p) => (
                <option key={p.name} value={p.id}>
                  {p.name}
                </option>
              ))}
            </select>
            <button type="submit" disabled={!chosenSaved || busy}>
              Load profile
            </button>
          </form>
        </div>
        {profileId && (
          <p className="muted">
            Profile id <code>{profileId}</code>
          </p>
        )}
      </section>

      {results && (
        <section aria-label="Results">
          <h2>{likeOf ? `More like photo ${likeOf}` : "Results"} ({results.length})</h2>
          {likeOf && (
            <button type="button" onClick={() => ask(profile, profileId, "")} disabled={busy}>
              Back to my profile’s results
            </button>
          )}
          <ResultGrid results={results} label="Recommended photos" details={(result) => (
            <>
              <p className="summary">{result.summary}</p>
              <ul className="why">
                {parts(result).map(([name, part]) => (
                  <li key={name} className={part.met ? "met" : "unmet"}>
                    <span aria-hidden="true">{part.met ? "✓" : "·"}</span> {part.text}
                  </li>
                ))}
              </ul>
              <div className="row">
                <button type="button" aria-pressed={votes[result.id] === "like"} disabled={busy || !profileId}
                        aria-label={`Like photo ${result.id}`} onClick={() => vote(result, "like")}>
                  Like
                </button>
                <button type="button" aria-pressed={votes[result.id] === "dislike"} disabled={busy || !profileId}
                        aria-label={`Dislike photo ${result.id}`} onClick={() => vote(result, "dislike")}>
                  Dislike
                </button>
                <button type="button" disabled={busy} onClick={() => moreLike(result)}>
                  More like this<span className="visually-hidden">— photo {result.id}</span>
                </button>
              </div>
            </>
          )} />
        </section>
      )}
    </>
  );
}
