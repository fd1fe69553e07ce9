// Parity against a reference dump (reference/dump.py, or another `ovis trace`): recompute the
// same request with our model and compare every stage the dump has, with the tolerance table.
//   end to end: each stage from our own previous stage (errors compound, as in real use);
//   isolated:   each stage from the reference's previous stage (errors do not compound).

import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { FixtureError, OvisError } from './errors.js';
import { fileProblem, pathExists } from './io/fs.js';
import { SafetensorsFile } from './io/safetensors.js';
import type { OvisRunner, TraceResult } from './runner.js';
import type { Tensor } from './tensor.js';
import { compare } from './trace/metrics.js';
import { StageRecorder } from './trace/recorder.js';
import { evaluate, formatReport, type ParityMode, type StageResult } from './trace/tolerances.js';

/** What a dump's sidecar JSON must hold for a recompute. */
export interface ReferenceSidecar {
  format_version: number;
  mode?: ParityMode;
  user_prompt: string;
  images: Array<{ path: string; sha256?: string }>;
  max_partition: number;
  generated_ids: number[];
  checkpoint?: string;
  case?: string;
  /** Stages left out of the dump; `same_as` names another dump (relative like image paths) holding them. */
  omitted?: Array<{ names: string[]; reason: string; same_as?: string }>;
}

export interface ReferenceDump {
  path: string;
  sidecar: ReferenceSidecar;
  /** F32 stages by name. */
  stages: Map<string, Tensor>;
  /** I64 tensors (ids) as numbers. */
  ids: Map<string, { shape: number[]; values: number[] }>;
  /** Image files resolved to paths that exist. */
  imagePaths: string[];
}

const SUPPORTED_FORMAT = 1;

/** A relative image path of a sidecar: tried against the cwd, then the dump's folder and its ancestors
 *  (fixtures store paths relative to reference/fixtures/). */
async function resolveRelative(p: string, dumpPath: string): Promise<string> {
  if (isAbsolute(p)) return p;
  if (await pathExists(p)) return resolve(p);
  let d = dirname(resolve(dumpPath));
  for (;;) {
    const c = join(d, p);
    if (await pathExists(c)) return c;
    const up = dirname(d);
    if (up === d) break;
    d = up;
  }
  throw new FixtureError(
    `${dumpPath}: file '${p}' named by the sidecar was not found (cwd or the dump's folders)`,
    'run from the directory the dump was made in',
  );
}

export async function loadReference(path: string): Promise<ReferenceDump> {
  const sidePath = path.replace(/\.safetensors$/, '') + '.json';
  let sidecar: ReferenceSidecar;
  const problem = await fileProblem(sidePath); // by kind first: a FIFO would block the read
  try {
    if (problem) throw new Error(problem);
    sidecar = JSON.parse(await readFile(sidePath, 'utf8')) as ReferenceSidecar;
  } catch (e) {
    throw new FixtureError(
      `${sidePath}: cannot read the dump's JSON sidecar (${(e as Error).message})`,
      'a dump is FILE.safetensors + FILE.json, as written by reference/dump.py or ovis trace',
    );
  }
  if (sidecar.format_version !== SUPPORTED_FORMAT) {
    throw new FixtureError(
      `${sidePath}: format_version ${sidecar.format_version}, this ovis-ts reads ${SUPPORTED_FORMAT}`,
      'regenerate the fixtures (npm run fixtures) or update ovis-ts',
    );
  }
  for (const k of ['user_prompt', 'images', 'max_partition', 'generated_ids'] as const) {
    if (sidecar[k] === undefined) throw new FixtureError(`${sidePath}: missing field '${k}'`);
  }
  const f = await SafetensorsFile.open(path);
  const stages = new Map<string, Tensor>();
  const ids = new Map<string, { shape: number[]; values: number[] }>();
  try {
    for (const [name, info] of f.tensors) {
      if (info.dtype === 'I64' || info.dtype === 'I32') {
        const t = await f.read(name);
        ids.set(name, { shape: [...info.shape], values: Array.from(t.data as unknown as ArrayLike<bigint | number>, Number) });
      } else {
        stages.set(name, { shape: [...info.shape], data: await f.readF32(name) });
      }
    }
  } finally {
    await f.close();
  }
  // stages the dump shares with another dump (same images and preprocessing): read them there
  for (const o of sidecar.omitted ?? []) {
    if (!o.same_as) continue;
    const other = await SafetensorsFile.open(await resolveRelative(o.same_as, path));
    try {
      for (const name of o.names) {
        const info = other.tensors.get(name);
        if (!info) throw new FixtureError(`${path}: stage '${name}' is said to be in ${o.same_as}, which lacks it`);
        stages.set(name, { shape: [...info.shape], data: await other.readF32(name) });
      }
    } finally {
      await other.close();
    }
  }
  const imagePaths = await Promise.all(sidecar.images.map((im) => resolveRelative(im.path, path)));
  return { path, sidecar, stages, ids, imagePaths };
}

export interface ParityResult {
  results: StageResult[];
  report: string;
  ok: boolean;
  trace: TraceResult;
  mode: ParityMode;
}

const idTensor = (values: readonly number[], shape: readonly number[]) => ({ shape, data: Float64Array.from(values) });

/** Recompute the dump's request with `runner` and compare stage by stage. */
export interface ParityOptions {
  /** Feed every stage the reference's own input (errors do not compound). */
  isolated?: boolean;
  /** Take only these stages from the reference (e.g. `pixel_values`, to check the model from the
   *  reference's own pixels); they are reported, not judged. */
  fromReference?: readonly string[];
  /** Tolerance table; default: the dump's mode. */
  mode?: ParityMode;
}

export async function runParity(runner: OvisRunner, ref: ReferenceDump, opts: ParityOptions = {}): Promise<ParityResult> {
  const mode = opts.mode ?? ref.sidecar.mode ?? 'f32';
  const from = new Set(opts.fromReference ?? []);
  for (const n of from) {
    if (!ref.stages.has(n)) throw new FixtureError(`${ref.path}: --from-reference ${n}: the dump has no stage '${n}'`);
  }
  const images = await Promise.all(
    ref.imagePaths.map(async (p) => {
      const problem = await fileProblem(p);
      if (problem) throw new FixtureError(`${ref.path}: image ${p} named by the sidecar: ${problem}`);
      return new Uint8Array(await readFile(p));
    }),
  );
  const positions = ref.ids.get('logits.positions')?.values;
  const isolated = opts.isolated ?? false;
  const rec = new StageRecorder({
    reference: { get: (n) => (isolated || from.has(n) ? ref.stages.get(n) : undefined) },
    isolated: isolated || from.size > 0,
  });
  let trace: TraceResult;
  try {
    trace = runner.trace(
      { prompt: ref.sidecar.user_prompt, images },
      {
        recorder: rec,
        maxPartition: ref.sidecar.max_partition,
        maxNewTokens: ref.sidecar.generated_ids.length,
        logitsRows: positions ?? 'last',
      },
    );
  } catch (e) {
    if (e instanceof OvisError) throw notThisModelsDump(runner, ref, images, e);
    throw e;
  }
  const results: StageResult[] = [];
  for (const [name, want] of ref.stages) {
    const got = rec.stages.get(name);
    const m = got ? compare(name, got, want) : compare(name, { shape: [0], data: [] }, want);
    const r = evaluate(m, mode);
    if (from.has(name)) {
      r.tolerance = { kind: 'info', value: 0, reason: 'taken from the reference (--from-reference): our own value is shown, not judged' };
      r.verdict = 'INFO';
    }
    results.push(r);
  }
  // ids: exact in every mode (generated ids follow the table: informational for bf16 references)
  const exact = { kind: 'exact' as const, value: 0, reason: 'ids are integers' };
  const inputIds = ref.ids.get('input_ids');
  if (inputIds) {
    const m = compare(
      'input_ids',
      idTensor(trace.prepared.inputIds, [trace.prepared.inputIds.length]),
      idTensor(inputIds.values, inputIds.shape),
    );
    results.push({ metrics: m, tolerance: exact, verdict: m.shapeMatch && m.maxAbsErr === 0 ? 'OK' : 'NOT OK' });
  }
  const grids = ref.ids.get('grids');
  if (grids) {
    const m = compare(
      'grids',
      idTensor(trace.prepared.grids.flat(), [trace.prepared.grids.length, 2]),
      idTensor(grids.values, grids.shape),
    );
    results.push({ metrics: m, tolerance: exact, verdict: m.shapeMatch && m.maxAbsErr === 0 ? 'OK' : 'NOT OK' });
  }
  const gen = ref.sidecar.generated_ids;
  results.push(
    evaluate(compare('generated_ids', idTensor(trace.generation.ids, [trace.generation.ids.length]), idTensor(gen, [gen.length])), mode),
  );
  const { text, ok } = formatReport(results);
  const idsDiffer = results.some((r) => r.metrics.name === 'input_ids' && r.verdict !== 'OK');
  const report = idsDiffer ? `${text}\nhint: input_ids differ: ${mismatchHint(ref)}` : text;
  return { results, report, ok, trace, mode };
}

/** What to do when the model and the dump do not belong together. */
function mismatchHint(ref: ReferenceDump): string {
  const made = ref.sidecar.checkpoint ? ` (its sidecar names ${ref.sidecar.checkpoint})` : '';
  return (
    `the dump was made with another checkpoint, tokenizer or prompt${made}: pass the --model (and --tokenizer) ` +
    'it was made with, or dump this model anew (reference/dump.py, or ovis trace)'
  );
}

/** A recompute that throws (a logits row past the prompt's end, a vocabulary of another size)
 *  means the model and the dump do not belong together: say so, with the facts that disagree,
 *  rather than only the symptom deep inside the model. */
function notThisModelsDump(runner: OvisRunner, ref: ReferenceDump, images: Uint8Array[], e: OvisError): FixtureError {
  const facts: string[] = [];
  const theirs = ref.ids.get('input_ids')?.values;
  try {
    const ours = runner.prepare({ prompt: ref.sidecar.user_prompt, images }, { maxPartition: ref.sidecar.max_partition }).inputIds;
    if (theirs && (ours.length !== theirs.length || ours.some((id, i) => id !== theirs[i]))) {
      const k = ours.findIndex((id, i) => id !== theirs[i]);
      facts.push(
        `its input_ids has ${theirs.length} tokens, this model's tokenizer and chat format give ${ours.length}` +
          (k >= 0 && k < theirs.length ? `, first different at position ${k} (${theirs[k]} vs ${ours[k]})` : ''),
      );
    }
  } catch {
    /* the facts are a courtesy; the error below stands without them */
  }
  const logits = ref.stages.get('logits');
  const vocab = runner.model.llm.vocabSize;
  if (logits && logits.shape[logits.shape.length - 1] !== vocab) {
    facts.push(`its logits have ${logits.shape[logits.shape.length - 1]} columns, this model's vocabulary has ${vocab}`);
  }
  const what = e.message.split('\nHint: ')[0];
  return new FixtureError(
    `${ref.path}: this model cannot recompute the dump's request: ${what}` + (facts.length ? `\n  - ${facts.join('\n  - ')}` : ''),
    mismatchHint(ref),
  );
}
