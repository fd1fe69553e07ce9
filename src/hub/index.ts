// Hugging Face Hub: `--model org/name[@rev]` from the shared HF cache (cache.ts) and `ovis download` (download.ts).
export { resolveModel, cachedSnapshot, hubCacheDir, repoFolderName, parseRepoSpec, type ResolveOptions } from './cache.js';
export { downloadSnapshot, hubEndpoint, hubOffline, type DownloadOptions, type DownloadEvent } from './download.js';
