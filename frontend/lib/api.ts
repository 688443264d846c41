// Calls to the gateway's API. Relative URLs: the UI is served by the gateway itself.

export class ApiError extends Error {
  constructor(public status: number, message: string) {
    super(message);
  }
}

async function parse<T>(response: Response): Promise<T> {
  let body: unknown = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  if (!response.ok) {
    const message =
      body && typeof body === "object" && "message" in body
        ? String((body as { message: unknown }).message)
        : `${response.status} ${response.statusText}`;
    throw new ApiError(response.status, message);
  }
  return body as T;
}

export async function getJson<T>(url: string): Promise<T> {
  return parse<T>(await fetch(url, { headers: { Accept: "application/json" }, cache: "no-store" }));
}

export async function postJson<T>(url: string, payload: unknown): Promise<T> {
  return parse<T>(
    await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(payload ?? {}),
    }),
  );
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

export type Health = { status: string; backends?: Record<string, unknown> };

export type PipelineStatus = {
  counts: Record<string, number>;
  total: number;
  rate_per_minute: number;
  oldest_waiting: { id: string; name: string; state: string; since: string } | null;
  recent_failures: { id: string; name: string; reason: string | null; at: string }[];
  dead_letters: number;
  queues: Record<string, { depth: number; dead_count: number; dead: { error: string | null; attempts: number }[] }>;
};

/** Upload with the browser's progress events (fetch has none for request bodies). */
export function uploadFiles(files: File[], onProgress: (fraction: number) => void): Promise<UploadResponse> {
  return new Promise((resolve, reject) => {
    const form = new FormData();
    for (const file of files) form.append("files", file, file.name);
    const request = new XMLHttpRequest();
    request.open("POST", "/gather/uploads");
    request.setRequestHeader("Accept", "application/json");
    request.upload.onprogress = (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    };
    request.onload = () => {
      let body: UploadResponse | { message?: string } | null = null;
      try {
        body = JSON.parse(request.responseText);
      } catch {
        body = null;
      }
      // A batch where every file was rejected answers 4xx but still lists each file's reason.
      if (body && "files" in body && Array.isArray(body.files)) resolve(body as UploadResponse);
      else reject(new ApiError(request.status, (body as { message?: string } | null)?.message ?? request.statusText));
    };
    request.onerror = () => reject(new ApiError(0, "the upload could not reach the server"));
    request.send(form);
  });
}
