/** Recordings are named by the UTC time of their first sample, to the second: `2026-11-23T22-00-00Z.flac`. */
const NAME = /^(\d{4}-\d{2}-\d{2})T(\d{2})-(\d{2})-(\d{2})Z(?:\.(\d+))?\.flac$/;

/** The name of a recording whose first sample was captured at `start` (`2026-11-23T22-00-00Z.flac`). */
export function recordingName(start: Date, duplicate = 0): string {
  const stamp = start.toISOString().slice(0, 19).replaceAll(':', '-');
  return duplicate ? `${stamp}Z.${duplicate}.flac` : `${stamp}Z.flac`;
}

/** The start time a recording's name gives (to the second), or undefined for a file that is not a recording. */
export function parseRecordingName(name: string): Date | undefined {
  const match = NAME.exec(name);
  if (!match) return undefined;
  const time = Date.parse(`${match[1]}T${match[2]}:${match[3]}:${match[4]}Z`);
  return Number.isNaN(time) ? undefined : new Date(time);
}
