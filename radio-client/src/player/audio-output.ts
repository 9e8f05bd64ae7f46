/** The Web Audio side of a playing element: its sound as an AudioNode, and an analyser on it for the meter. */
export interface AudioOutput {
  context: AudioContext;
  /** What the listener hears (after the element's volume and mute), as a node others may connect to. */
  node: MediaElementAudioSourceNode;
  readonly analyser: AnalyserNode;
  close(): void;
}

/**
 * Routes `audio` through a new AudioContext to the speakers. Once this is done the element is heard
 * only through the context, so call it from the listener's gesture (the context must be allowed to
 * run) and only when someone needs the node: an element on its own keeps playing where a suspended
 * AudioContext would fall silent (iOS, when the screen locks).
 */
export function createAudioOutput(audio: HTMLAudioElement): AudioOutput {
  const context = new AudioContext({ latencyHint: 'playback' });
  void context.resume();
  const node = context.createMediaElementSource(audio);
  node.connect(context.destination);
  let analyser: AnalyserNode | undefined;
  return {
    context,
    node,
    get analyser() {
      if (!analyser) {
        analyser = new AnalyserNode(context, { fftSize: 2048 });
        node.connect(analyser);
      }
      return analyser;
    },
    close() {
      node.disconnect();
      void context.close();
    },
  };
}
