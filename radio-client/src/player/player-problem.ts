/** What went wrong, as data: the playback controller decides the state, the element shows `message`. */
export type ProblemKind =
  | 'off-air'
  | 'unreachable'
  | 'stalled'
  | 'cors'
  | 'http'
  | 'manifest-invalid'
  | 'segment-missing'
  | 'segment-undecodable'
  | 'audio-unavailable'
  | 'unexpected';

/** A classified problem with one human sentence; `offline` ones show as "Off air", the rest as errors. */
export interface PlayerProblem {
  kind: ProblemKind;
  message: string;
  offline: boolean;
}

const OFFLINE_KINDS: ReadonlySet<ProblemKind> = new Set(['off-air', 'unreachable', 'stalled']);

/** Builds a {@link PlayerProblem}; whether it counts as offline follows from its kind. */
export function problem(kind: ProblemKind, message: string): PlayerProblem {
  return { kind, message, offline: OFFLINE_KINDS.has(kind) };
}

/** The sentence for a failure of the player's own (a bug, or a browser doing what it should not). */
export function unexpectedProblem(error: unknown): PlayerProblem {
  const detail = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return problem('unexpected', `Something went wrong in the player (${detail}); it keeps trying.`);
}

/** The sentence for an HTTP status the station's storage answered with. */
export function httpProblem(what: string, status: number): PlayerProblem {
  if (status === 404) {
    return problem('http', `The station's storage has no ${what} (HTTP 404): is the address right and is the station publishing?`);
  }
  if (status === 401 || status === 403) {
    return problem('http', `The station's storage refused to send the ${what} (HTTP ${status}): is the bucket public?`);
  }
  return problem('http', `The station's storage answered HTTP ${status} for the ${what}.`);
}

/** The sentence when the browser blocked a response because the bucket has no CORS rule for this page. */
export function corsProblem(): PlayerProblem {
  return problem(
    'cors',
    `The station's storage does not allow this site (CORS): its bucket needs a CORS rule allowing GET from ${pageOrigin()}, the If-None-Match header, and exposing ETag.`,
  );
}

function pageOrigin(): string {
  return typeof location === 'undefined' ? 'this page' : location.origin;
}
