/**
 * Request headers and error messages shared by the Hub client.
 *
 * @module
 */

/** Request headers for the Hub. */
export function hubHeaders(token: string | undefined, extra: Record<string, string> = {}): Headers {
  const h = new Headers({ "Accept-Encoding": "identity", ...extra });
  if (token) h.set("Authorization", `Bearer ${token}`);
  return h;
}

/** An error for a failed HTTP response that says what to do about it. */
export function httpError(res: Response, name: string): Error {
  const hint = res.status === 401 || res.status === 403
    ? " (the repository may be gated or private: pass a token, e.g. from HF_TOKEN)"
    : "";
  return new Error(`Cannot download ${name}: the Hub answered ${res.status} ${res.statusText}${hint}`);
}
