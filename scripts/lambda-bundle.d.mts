// Types of scripts/lambda-bundle.mjs for TypeScript importers (the CDK stack, the bundle test, the bench).
import type { BuildOptions, Metafile } from 'esbuild';

export declare const PROJECT_ROOT: string;
export declare const NATIVE_MODULES: string[];
export declare const LAMBDA_BUNDLE: {
  entry: string;
  target: string;
  mainFields: string[];
  banner: string;
  alias: Record<string, string>;
};
export declare const lambdaBuildOptions: (outdir: string) => BuildOptions & { metafile: true };
export declare const staticClosure: (metafile: Metafile, entry: string) => string[];
