/**
 * The Node.js options the deployed functions run with (`NODE_OPTIONS` in serverless.yml), for
 * the local processes that measure them. Node 24's V8 lets the young generation grow to 128 MB
 * under the pipeline's allocation rate, although what survives a collection stays near 30 MB;
 * 16 MB semi-spaces keep the peak RSS flat and cost no CPU (`npm run bench`; README, "Benchmark").
 */
export const FUNCTION_NODE_OPTIONS = '--max-semi-space-size=16';
