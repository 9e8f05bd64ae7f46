/** A problem the operator can fix (a setting, a missing build), said in one sentence: no stack trace. */
export class StartupError extends Error {
  override name = 'StartupError';
}
