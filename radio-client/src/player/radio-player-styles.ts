import { css } from 'lit';

/** The element's styles: every colour and size comes from a custom property, every block has a part. */
export const radioPlayerStyles = css`
  :host {
    display: block;
    max-width: 36rem;
    color: var(--radio-player-foreground, #1d1d1f);
    background: var(--radio-player-background, #f4f4f6);
    border-radius: var(--radio-player-radius, 0.75rem);
    font: var(--radio-player-font, 1rem/1.4 system-ui, sans-serif);
    padding: var(--radio-player-padding, 1rem);
  }
  .header,
  .controls {
    display: flex;
    flex-wrap: wrap;
    align-items: center;
    gap: 0.75rem;
  }
  .station {
    font-weight: 600;
  }
  .badge {
    font-size: 0.75rem;
    font-weight: 700;
    letter-spacing: 0.05em;
    padding: 0.1rem 0.45rem;
    border-radius: 0.25rem;
    color: var(--radio-player-badge-foreground, #fff);
    background: var(--radio-player-live-color, #c4122f);
  }
  .badge[data-state='offline'] {
    background: var(--radio-player-offline-color, #6b6b73);
  }
  .controls {
    margin-block: 0.75rem;
  }
  button,
  select {
    font: inherit;
    color: inherit;
    min-height: 2.25rem;
    padding: 0.25rem 0.9rem;
    border: 1px solid currentColor;
    border-radius: 0.4rem;
    background: transparent;
    cursor: pointer;
  }
  .play {
    color: var(--radio-player-accent-foreground, #fff);
    background: var(--radio-player-accent, #2342c4);
    border-color: transparent;
    min-width: 5rem;
  }
  label {
    display: inline-flex;
    align-items: center;
    gap: 0.4rem;
  }
  input[type='range'] {
    accent-color: var(--radio-player-accent, #2342c4);
  }
  :focus-visible {
    outline: 3px solid var(--radio-player-focus-ring, #f5a623);
    outline-offset: 2px;
  }
  .meter {
    height: 0.4rem;
    border-radius: 0.2rem;
    overflow: hidden;
    background: var(--radio-player-meter-track, #d9d9df);
  }
  .level {
    height: 100%;
    transform-origin: left;
    transform: scaleX(0);
    background: var(--radio-player-meter-color, #23a45a);
  }
  .status {
    margin: 0.6rem 0 0;
  }
  .details {
    margin: 0.2rem 0 0;
    font-size: 0.85rem;
    opacity: 0.75;
    font-variant-numeric: tabular-nums;
  }
  [hidden] {
    display: none;
  }
`;
