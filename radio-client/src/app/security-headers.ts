import type { MiddlewareHandler } from 'hono';

/** What the pages may load, and who may frame them. */
export interface SecurityHeadersOptions {
  /** Origin of the bucket (`https://pub-1234.r2.dev`): the only place the player fetches from. */
  storageOrigin: string;
  /** Inline `<style>` contents the pages carry; each is allowed by its SHA-256 hash, nothing else inline. */
  inlineStyles?: readonly string[];
  /** Paths other sites may frame (the embed); every other response forbids framing. */
  framablePaths?: readonly string[];
}

/**
 * Middleware setting the security headers on every response: a CSP that allows scripts only from
 * this site, network only to the storage origin and media only from it (and the player's own
 * MediaSource blob: URLs), nosniff, no referrer, and framing
 * refused except on `framablePaths`.
 */
export function securityHeaders(options: SecurityHeadersOptions): MiddlewareHandler {
  assertOrigin(options.storageOrigin);
  const framable = new Set(options.framablePaths ?? []);
  let policies: Promise<{ framed: string; unframed: string }> | undefined;
  return async (c, next) => {
    await next();
    policies ??= contentSecurityPolicies(options);
    const { framed, unframed } = await policies;
    const canFrame = framable.has(c.req.path);
    c.res.headers.set('Content-Security-Policy', canFrame ? framed : unframed);
    if (canFrame) c.res.headers.delete('X-Frame-Options');
    else c.res.headers.set('X-Frame-Options', 'DENY');
    c.res.headers.set('X-Content-Type-Options', 'nosniff');
    c.res.headers.set('Referrer-Policy', 'no-referrer');
  };
}

/**
 * Throws unless `value` is exactly an http(s) origin: it is copied into the CSP, where a `;` would start a
 * directive of the value's own and a space or `,` another source (read-config refuses such a URL first).
 */
function assertOrigin(value: string): void {
  const url = URL.canParse(value) ? new URL(value) : undefined;
  if (!url || !/^https?:$/.test(url.protocol) || url.origin !== value || /[\s;,'"`]/.test(value)) {
    throw new TypeError('storageOrigin must be an http(s) origin alone, e.g. https://pub-1234.r2.dev');
  }
}

async function contentSecurityPolicies({ storageOrigin, inlineStyles = [] }: SecurityHeadersOptions) {
  const hashes = await Promise.all(inlineStyles.map(sha256Source));
  const base = [
    "default-src 'none'",
    "script-src 'self'",
    ["style-src 'self'", ...hashes].join(' '),
    "img-src 'self' data:",
    `connect-src ${storageOrigin}`,
    // The player's MediaSource reaches its <audio> element as a blob: URL.
    `media-src ${storageOrigin} blob:`,
    "base-uri 'none'",
    "form-action 'none'",
  ];
  return {
    framed: [...base, 'frame-ancestors *'].join('; '),
    unframed: [...base, "frame-ancestors 'none'"].join('; '),
  };
}

/** `'sha256-…'`: a CSP source allowing exactly this inline content (Web Crypto: any runtime). */
async function sha256Source(text: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)));
  return `'sha256-${btoa(String.fromCharCode(...digest))}'`;
}
