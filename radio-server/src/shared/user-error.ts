/**
 * A problem the operator can fix (bad input, bad config): printed as one sentence without a stack trace,
 * exit code 2.
 */
export class UserError extends Error {
  override readonly name = 'UserError';
  constructor(
    message: string,
    readonly exitCode = 2,
  ) {
    super(message);
  }
}
