// `ovis download REPO [--revision R] [--cache-dir D] [--include GLOB]...` — fill the Hugging Face
// cache (the one huggingface_hub uses) with a model repo; prints the snapshot folder on stdout,
// which `--model REPO` then finds. Progress on stderr, at most about once a second.

import { UsageError } from '../errors.js';
import { hubCacheDir } from '../hub/cache.js';
import { type DownloadEvent, downloadSnapshot, hubEndpoint, hubOffline } from '../hub/download.js';
import { formatOptions, type OptionSpecs, parseOptions, progress } from './common.js';

const OPTIONS = {
  revision: { type: 'string', arg: 'R', help: 'branch, tag or commit sha (REPO@R says the same)', default: 'main' },
  'cache-dir': {
    type: 'string',
    arg: 'D',
    help: 'the cache folder',
    default: 'HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub',
  },
  include: {
    type: 'string',
    arg: 'GLOB',
    multiple: true,
    help: "only files matching GLOB (fnmatch, as huggingface_hub's allow_patterns); repeatable",
  },
  quiet: { type: 'boolean', short: 'q', help: 'no progress on stderr' },
} as const satisfies OptionSpecs;

const HELP = `usage: ovis download REPO[@R] [--revision R] [--cache-dir D] [--include GLOB]... [-q]

Download a Hugging Face model repo (e.g. AIDC-AI/Ovis1.6-Llama3.2-3B) into the Hugging Face
cache, in the layout huggingface_hub uses (models--org--name/{refs,snapshots,blobs}): a model
fetched by Python is reused, and \`ovis run --model REPO\` finds this one. Prints the snapshot
folder. An interrupted download resumes where it stopped; files already there are skipped.

options:
${formatOptions(OPTIONS)}

environment: HF_ENDPOINT (default https://huggingface.co), HF_TOKEN (gated / private repos),
HF_HUB_OFFLINE=1 (no network: only checks the cache), HF_HUB_DOWNLOAD_TIMEOUT (stall seconds).`;

function mb(n: number): string {
  return (n / 1e6).toFixed(1);
}
function size(n: number): string {
  return n >= 1e6 ? `${mb(n)} MB` : `${(n / 1e3).toFixed(1)} KB`;
}

export async function main(argv: string[]): Promise<number> {
  const { values: v, positionals } = parseOptions('download', argv, OPTIONS, { positionals: true });
  if (v.help) {
    process.stdout.write(HELP + '\n');
    return 0;
  }
  if (positionals.length !== 1)
    throw new UsageError(
      `expected exactly one repo id, got ${positionals.length}`,
      'usage: ovis download AIDC-AI/Ovis1.6-Llama3.2-3B [--revision R]',
    );
  let [repoId] = positionals;
  let revision = v.revision;
  const at = repoId.indexOf('@');
  if (at >= 0) {
    if (revision !== undefined)
      throw new UsageError(`the revision is given twice: ${repoId} and --revision ${revision}`, 'use one of them');
    revision = repoId.slice(at + 1);
    repoId = repoId.slice(0, at);
  }
  const say = progress(v.quiet);
  const cacheDir = v['cache-dir'] ?? hubCacheDir();
  say(`${repoId}@${revision ?? 'main'} -> ${cacheDir}${hubOffline() ? ' (offline)' : ` from ${hubEndpoint()}`}`);

  let t0 = performance.now();
  let lastPrint = 0;
  // Rate of this run's transfer of the current file: from its first chunk, which already counts
  // any resumed prefix, so the prefix does not inflate MB/s.
  let base: { bytes: number; t: number } | undefined;
  const onEvent = (e: DownloadEvent) => {
    if (e.type === 'start') {
      t0 = performance.now();
      say(`commit ${e.commit}: ${e.files} file(s)${e.bytes !== undefined ? `, ${mb(e.bytes)} MB` : ''}`);
    } else if (e.type === 'file') {
      if (e.status === 'downloading') {
        base = undefined;
        say(`${e.path}: downloading${e.size !== undefined ? ` ${size(e.size)}` : ''}`);
      } else say(`${e.path}: ${e.status === 'cached' ? 'already in the snapshot' : 'blob already in the cache, linked'}`);
    } else if (e.type === 'bytes') {
      const now = performance.now();
      base ??= { bytes: e.fileDone, t: now };
      // at most once a second, plus the end of any file big enough to have shown a rate
      if (now - lastPrint < 1000 && !(e.fileDone === e.fileTotal && e.fileDone >= 1e6)) return;
      lastPrint = now;
      const secs = (now - base.t) / 1000;
      const rate = secs > 0.05 ? `, ${((e.fileDone - base.bytes) / 1e6 / secs).toFixed(1)} MB/s` : '';
      const of = e.total !== undefined ? `/${mb(e.total)}` : '';
      say(`${e.path}: ${mb(e.fileDone)}${e.fileTotal !== undefined ? `/${mb(e.fileTotal)}` : ''} MB; total ${mb(e.done)}${of} MB${rate}`);
    } else if (e.type === 'retry') {
      say(`${e.path}: ${e.reason}; retry ${e.attempt}${e.offset ? ` from byte ${e.offset}` : ''}`);
    } else if (e.type === 'done') {
      say(
        `done: ${e.downloaded} downloaded, ${e.cached} already cached, ${mb(e.bytes)} MB in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
      );
    } else {
      say(e.message);
    }
  };
  const dir = await downloadSnapshot(repoId, { revision, cacheDir, include: v.include, onEvent });
  process.stdout.write(dir + '\n');
  return 0;
}
