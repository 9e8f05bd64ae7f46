/**
 * A failure the stage that met it has already classified (an S3 or network code and what to check): its
 * message is the whole story, so it is logged as one line without a stack, and `code` names its cause
 * (for rate-limited logs and metrics). Stages throw subclasses (publish/s3-errors' StorageError); the
 * pipeline and the operator's view need only this.
 */
export class ClassifiedError extends Error {
  override name = 'ClassifiedError';
  /** The stage cannot go on without starting afresh (e.g. the publisher lost the bucket to another daemon). */
  readonly offAir: boolean;
  /**
   * Trying again cannot help (a full disk or a read-only folder under a finished presentation): the
   * pipeline ends with this error instead of retrying.
   */
  readonly fatal: boolean;

  constructor(
    message: string,
    readonly code: string,
    options: { offAir?: boolean; fatal?: boolean; cause?: unknown } = {},
  ) {
    super(message, ...(options.cause === undefined ? [] : [{ cause: options.cause }]));
    this.offAir = options.offAir ?? false;
    this.fatal = options.fatal ?? false;
  }
}
