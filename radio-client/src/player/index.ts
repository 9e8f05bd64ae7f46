import { RadioPlayer } from './radio-player.ts';

export { RadioPlayer, RadioPlayerErrorEvent, RadioPlayerStateChangeEvent, type RadioPlayerStats } from './radio-player.ts';

// The bundle's entry: registers the element once, even if the script is included twice.
if (!customElements.get('radio-player')) customElements.define('radio-player', RadioPlayer);
