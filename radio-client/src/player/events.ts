import type { Manifest } from '@radio/protocol';
import type { PlayerProblem } from './player-problem.ts';

/** The states the listener sees; `blocked`: the browser holds the sound back until the listener taps. */
export type PlayerState = 'idle' | 'loading' | 'playing' | 'blocked' | 'offline' | 'error';

/** Every event the player's parts exchange, with its payload: the one place names are declared. */
export interface PlayerEventMap {
  /** A manifest was fetched and validated (`changed` is false after a 304 or identical content). */
  manifest: { manifest: Manifest; changed: boolean };
  /** The manifest could not be fetched or read. */
  'manifest-problem': { problem: PlayerProblem };
  /** The player moved to another state; `problem` says why for offline and error; `buffering`: loading after a stall. */
  state: { state: PlayerState; problem: PlayerProblem | undefined; buffering: boolean };
}

type Listener<K extends keyof PlayerEventMap> = (payload: PlayerEventMap[K]) => void;

/** A typed event bus for the controllers: no bare strings, and every `on` has its `off`. */
export class PlayerEvents {
  #listeners = new Map<keyof PlayerEventMap, Set<Listener<never>>>();

  on<K extends keyof PlayerEventMap>(type: K, listener: Listener<K>): void {
    let set = this.#listeners.get(type);
    if (!set) this.#listeners.set(type, (set = new Set()));
    set.add(listener as Listener<never>);
  }

  off<K extends keyof PlayerEventMap>(type: K, listener: Listener<K>): void {
    this.#listeners.get(type)?.delete(listener as Listener<never>);
  }

  emit<K extends keyof PlayerEventMap>(type: K, payload: PlayerEventMap[K]): void {
    for (const listener of [...(this.#listeners.get(type) ?? [])]) (listener as Listener<K>)(payload);
  }
}
