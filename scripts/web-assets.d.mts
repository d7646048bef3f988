// Types of scripts/web-assets.mjs for TypeScript importers (the local server, the page tests).
export declare const buildWebAssets: () => Promise<Map<string, Uint8Array>>;
export declare const writeWebAssets: (dir: string) => Promise<string[]>;
