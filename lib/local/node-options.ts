/**
 * The Node.js options the deployed functions run with (`NODE_OPTIONS` in serverless.yml), for
 * the local processes that measure them. Both sizes are set, so Lambda's Node.js bootstrap, which
 * passes sizes of its own unless `NODE_OPTIONS` names one, leaves them as they are.
 * - 16 MB semi-spaces: Node 24's V8 lets the young generation grow to 128 MB under the pipeline's
 *   allocation rate, although what survives a collection stays near 30 MB.
 * - 256 MB of old space: V8 sizes old space from the machine's memory (4 GB on a machine of 24 GB,
 *   884 MB for 1,769 MB), and the larger it is, the more garbage it lets pile up between full
 *   collections: up to 4× the live heap on the large machine. 256 MB is V8's own size for a 256
 *   or 512 MB function, and 10× the publishers' live heap.
 * Together they keep the peak RSS flat at no measurable CPU cost (docs/performance.md, "Benchmark").
 */
export const FUNCTION_NODE_OPTIONS = '--max-semi-space-size=16 --max-old-space-size=256';
