export * from './keys.js';
export * from './manifest.js';
