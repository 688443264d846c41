// Calls to the gateway's API. Relative URLs: the UI is served by the gateway itself.

export class ApiError extends Error {
  constructor(public status: number, message: string) {
    super(message);
  }
}

// Mutating routes need `Authorization: Bearer <token>` when the platform has one (`mosaic run` prints it and
// keeps it in var/api-token). The browser keeps what the user typed in the header's "API token" field.
const TOKEN_KEY = "mosaic.api-token";

export function apiToken(): string {
  return typeof window === "undefined" ? "" : (window.localStorage.getItem(TOKEN_KEY) ?? "");
}

export function setApiToken(token: string) {
  if (token) window.localStorage.setItem(TOKEN_KEY, token);
  else window.localStorage.removeItem(TOKEN_KEY);
}

function authorization(): Record<string, string> {
  const token = apiToken();
  return token ? { Authorization: `Bearer ${token}` } : {};
}

function failure(status: number, statusText: string, body: unknown): ApiError {
  let message =
    body && typeof body === "object" && "message" in body
      ? String((body as { message: unknown }).message)
      : `${status} ${statusText}`;
  if (status === 401) message += " — enter the API token under “API token” at the top of the page.";
  return new ApiError(status, message);
}

async function parse<T>(response: Response): Promise<T> {
  let body: unknown = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  if (!response.ok) throw failure(response.status, response.statusText, body);
  return body as T;
}

export async function getJson<T>(url: string): Promise<T> {
  return parse<T>(
    await fetch(url, { headers: { Accept: "application/json", ...authorization() }, cache: "no-store" }),
  );
}

export async function postJson<T>(url: string, payload: unknown): Promise<T> {
  return parse<T>(
    await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json", ...authorization() },
      body: JSON.stringify(payload ?? {}),
    }),
  );
}

export function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export function photoHref(id: string): string {
  return `/photo?id=${encodeURIComponent(id)}`;
}

// -- shapes (docs: ARCHITECTURE.md "API shapes") ---------------------------------------------

export type FileResult = {
  name: string;
  status: "stored" | "duplicate" | "rejected";
  id: string | null;
  duplicate_of: string | null;
  reason: string | null;
  state?: string | null;
  error?: string | null;
};

export type UploadResponse = { batch: string | null; files: FileResult[]; message?: string };

export type Batch = { batch: string; counts: Record<string, number>; files: FileResult[] };

export type ExplanationPart = { text?: string; met?: boolean; score?: number; [key: string]: unknown };

export type Recommendation = {
  id: string;
  score: number;
  explanation: Record<string, ExplanationPart | unknown>;
  summary?: string;
  thumbnail_url: string;
  url: string;
};

export type RecommendResponse = { results: Recommendation[]; profile_id: string; message?: string | null };

export type Results = { results: Recommendation[] };

export type Preferences = {
  colour: string | null;
  width: number | null;
  height: number | null;
  orientation: string;
  tags: string[];
  make: string | null;
};

export type SavedProfile = {
  id: string;
  preferences: Preferences;
  feedback: Record<string, number>;
  created_at: string;
  updated_at: string;
};

export type Health = { status: string; backends?: Record<string, unknown> };

export type PipelineStatus = {
  counts: Record<string, number>;
  total: number | null;
  rate_per_minute: number | null;
  oldest_waiting: { id: string; name: string; state: string; since: string } | null;
  recent_failures: { id: string; name: string; reason: string | null; at: string }[];
  step_failures: { step: string; photos: number; version: string; reason: string; latest: string | null }[];
  degraded: Record<string, string>;
  unavailable?: Record<string, string>;
  dead_letters: number | null;
  queues: Record<string, { depth: number | null; dead_count: number | null; dead: { error: string | null; attempts: number }[] }>;
};

export type PaletteColour = { rank: number; hex: string; share: number; name: string | null };

export type DetectedObject = { label: string; score: number; box: [number, number, number, number] };

export type Tag = { label: string; source: string; score: number | null };

export type Rendition = { url: string; width: number; height: number; bytes: number; mime: string };

export type Place = {
  latitude: number;
  longitude: number;
  altitude: number | null;
  country: string | null;
  city: string | null;
};

export type ImageDetails = {
  id: string;
  original_name: string | null;
  source: string;
  bytes: number;
  mime: string;
  width: number | null;
  height: number | null;
  state: string;
  error: string | null;
  created_at: string;
  exif: Record<string, unknown> | null;
  colours: PaletteColour[];
  objects: DetectedObject[];
  tags: Tag[];
  place: Place | null;
  renditions: Record<string, Rendition>;
  url: string;
};

export type DuplicateGroup = {
  id: string;
  best: string;
  members: string[];
  resolved: boolean;
  resolved_at: string | null;
  kept: string | null;
  reason: string;
  // Per member, best first: what the best-member rule compared.
  details: { id: string; name: string | null; width: number; height: number; bytes: number; exif_fields: number }[];
};

export type ImportRun = {
  id: string;
  kind: string;
  source: string;
  state: "queued" | "running" | "completed" | "failed";
  total: number;
  stored: number;
  duplicates: number;
  skipped: number;
  failed: number;
  bad_rows: number;
  message: string | null;
  batch_id: string | null;
  started_at: string;
  updated_at: string;
};

export type DatasetStatus = { status: string; message: string; import_id: string | null };

export type Graph = { name: string; title: string; url: string };

export type Counted = { count: number };
export type Label = Counted & { label: string };
export type Make = Counted & { make: string };
export type ColourName = Counted & { name: string; hex: string };

/** One upload request with the browser's progress events (fetch has none for request bodies). */
export function uploadFiles(files: File[], onProgress: (loaded: number, total: number) => void): Promise<UploadResponse> {
  return new Promise((resolve, reject) => {
    const form = new FormData();
    for (const file of files) form.append("files", file, file.name);
    const request = new XMLHttpRequest();
    request.open("POST", "/gather/uploads");
    request.setRequestHeader("Accept", "application/json");
    for (const [name, value] of Object.entries(authorization())) request.setRequestHeader(name, value);
    request.upload.onprogress = (event) => {
      if (event.lengthComputable) onProgress(event.loaded, event.total);
    };
    request.onload = () => {
      let body: UploadResponse | { message?: string } | null = null;
      try {
        body = JSON.parse(request.responseText);
      } catch {
        body = null;
      }
      // A request where every file was rejected answers 4xx but still lists each file's reason.
      if (body && "files" in body && Array.isArray(body.files)) resolve(body as UploadResponse);
      else reject(failure(request.status, request.statusText, body));
    };
    request.onerror = () => reject(new ApiError(0, "the upload could not reach the server"));
    request.send(form);
  });
}
