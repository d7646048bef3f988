// Types of scripts/stage-argon2.mjs for TypeScript importers (the CDK stack and its tests).
export declare const STAGE_ROOT: string;
export declare const ARCHITECTURES: string[];
export declare const stagedDir: (arch: string) => string;
export declare const nativeFiles: (dir: string) => string[];
export declare const stageArgon2: () => void;
