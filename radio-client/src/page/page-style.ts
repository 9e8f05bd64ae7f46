/** The pages' only inline CSS; the CSP allows it by hash, so keep it a constant. */
export const PAGE_STYLE =
  'body{margin:0;font:1rem/1.5 system-ui,sans-serif;color:#1d1d1f;background:#fff}' +
  'main{max-width:40rem;margin:0 auto;padding:2rem 1rem}' +
  'h1{font-size:1.75rem;margin:0 0 1rem}' +
  '.apps{margin:1rem 0 0;font-size:.9rem}' +
  'body.embed{background:transparent}body.embed main{padding:0;max-width:none}' +
  '@media (prefers-color-scheme:dark){body:not(.embed){color:#f4f4f6;background:#111114}}';
