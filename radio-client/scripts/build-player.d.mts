/** Name of the file that tells the app which hashed bundle to serve. */
export declare const PLAYER_ASSET_INDEX: string;
/** Builds the player into `outdir` (default dist/assets); returns the hashed file name and sizes. */
export declare function buildPlayer(outdir?: string): Promise<{ fileName: string; bytes: number; gzipBytes: number }>;
