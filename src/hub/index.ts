// Hugging Face Hub: `--model org/name[@rev]` from the shared HF cache (cache.ts) and `ovis download` (download.ts).
export { cachedSnapshot, hubCacheDir, parseRepoSpec, type ResolveOptions, repoFolderName, resolveModel } from './cache.js';
export { type DownloadEvent, type DownloadOptions, downloadSnapshot, hubEndpoint, hubOffline } from './download.js';
