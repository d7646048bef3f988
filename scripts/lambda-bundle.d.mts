// Types of scripts/lambda-bundle.mjs for TypeScript importers (the CDK stack).
export declare const NATIVE_MODULES: string[];
export declare const LAMBDA_BUNDLE: { entry: string; target: string; mainFields: string[]; banner: string };
