/** What the pipeline knows of a segment besides its encoded fragments: from the encoders to the publisher. */
export interface SegmentMeta {
  seq: number;
  /** Seq of the first segment of the daemon's run: names the init its fragments play after. */
  run: number;
  samples: number;
  startedAt: Date;
  /** Set by the segmenter (start of a run); the publisher adds gaps in seq. */
  discontinuity: boolean;
}
