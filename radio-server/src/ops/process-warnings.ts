import type { Logger } from './logger.js';

/** What {@link logProcessWarnings} needs of `process`. */
export type WarningSource = Pick<NodeJS.Process, 'listeners' | 'on' | 'off'>;

/**
 * Routes Node's process warnings (a MaxListenersExceededWarning, a deprecation) into `log` as WARN lines,
 * with their stack, in place of the plain text Node writes to stderr, which would land among the JSON
 * lines in journald. Returns a function that gives Node its own printing back.
 */
export function logProcessWarnings(log: Logger, target: WarningSource = process): () => void {
  // Node prints warnings through a 'warning' listener of its own; it goes while ours is there.
  const printers = target.listeners('warning') as ((warning: Error) => void)[];
  for (const printer of printers) target.off('warning', printer);
  const onWarning = (warning: Error) => log.warn({ err: warning }, `${warning.name}: ${warning.message}`);
  target.on('warning', onWarning);
  return () => {
    target.off('warning', onWarning);
    for (const printer of printers) target.on('warning', printer);
  };
}
