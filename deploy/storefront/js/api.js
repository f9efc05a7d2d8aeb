// The platform API as the storefront calls it: same-origin `/api/*` through the front door.
// A storefront on another host sets <meta name="platform-api" content="https://shop.example">
// and then sends its cookie cross-origin (the gateway's CORS list must name this origin).
const base = document.querySelector('meta[name="platform-api"]')?.content ?? "";

/** An answer that is not 2xx, or no answer at all (`status` 0, code "NETWORK"). */
export class PlatformError extends Error {
  constructor(status, body, headers) {
    super(body?.error?.message ?? `HTTP ${status}`);
    this.status = status;
    this.body = body ?? {};
    this.code = body?.error?.code ?? (status === 0 ? "NETWORK" : `HTTP_${status}`);
    this.requestId = body?.error?.requestId ?? null;
    const retryAfter = Number(headers?.get("retry-after"));
    this.retryAfter = Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : null;
  }
}

/** `method path` with an optional JSON body; resolves `{status, data}` or throws PlatformError. */
export async function api(method, path, { body, headers = {} } = {}) {
  const init = {
    method,
    headers: { accept: "application/json", ...headers },
    credentials: base ? "include" : "same-origin",
  };
  if (body !== undefined) {
    init.headers["content-type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(base + path, init);
  } catch {
    throw new PlatformError(0, null, null);
  }
  const data = await response.json().catch(() => null);
  if (!response.ok) throw new PlatformError(response.status, data, response.headers);
  return { status: response.status, data };
}

/** A static JSON file of this storefront (its catalog, its settings). */
export async function staticJson(path) {
  const response = await fetch(path);
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
  return response.json();
}
