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

  constructor(
    message: string,
    readonly code: string,
    options: { offAir?: boolean } = {},
  ) {
    super(message);
    this.offAir = options.offAir ?? false;
  }
}
