// A Hugging Face Ovis1.6 checkpoint directory:
//   config.json                        OvisConfig (required)
//   generation_config.json             eos ids etc. (optional; else from llm_config)
//   preprocessor_config.json           SiglipImageProcessor settings (optional)
//   tokenizer_config.json              kept as raw JSON (optional)
//   model.safetensors                  all weights, or
//   model.safetensors.index.json       { metadata: { total_size }, weight_map: { name: shard } }
//     + model-0000k-of-0000n.safetensors
// Like transformers, a single `model.safetensors` wins over an index when both exist.
// Opening reads the JSON files and every shard's header — never tensor data.
// The files come from a ModelSource (io/source.ts): a folder path (Node, Deno, Bun), a URL read
// with Range requests, or files picked in a browser; the checks and the errors are the same.

import { checkTensors, describeCheck, type TensorCheck } from '../config/expected-tensors.js';
import {
  type GenerationConfig,
  generationConfigFromLlm,
  type PreprocessorConfig,
  parseGenerationConfig,
  parsePreprocessorConfig,
} from '../config/generation-config.js';
import { type OvisConfig, parseOvisConfig } from '../config/ovis-config.js';
import { CheckpointError, ConfigError } from '../errors.js';
import { findDuplicateKeys, isPlainObject, jsonKind } from '../io/json.js';
import { SafetensorsFile, type TensorInfo } from '../io/safetensors.js';
import { type ModelSource, readSmallText as readSourceText } from '../io/source.js';
import { type GptqConfig, QUANTIZE_CONFIG_FILE, resolveQuantization } from '../quant/gptq.js';
import type { HostTensor } from '../tensor.js';

export const CONFIG_FILE = 'config.json';
export const GENERATION_CONFIG_FILE = 'generation_config.json';
export const PREPROCESSOR_CONFIG_FILE = 'preprocessor_config.json';
export const TOKENIZER_CONFIG_FILE = 'tokenizer_config.json';
export const SAFE_WEIGHTS_NAME = 'model.safetensors';
export const SAFE_WEIGHTS_INDEX_NAME = 'model.safetensors.index.json';

/** Config and index files are a few KB (the 9B's index ~100 KB); anything near this is not one,
 *  and reading it whole would be unbounded. */
export const MAX_JSON_FILE_BYTES = 16 << 20;

/** A folder path as a source (Node-only module, loaded on use); a source as itself. */
async function asSource(dir: string | ModelSource): Promise<{ src: ModelSource; owned: boolean }> {
  if (typeof dir !== 'string') return { src: dir, owned: false };
  const { FolderSource } = await import('../io/folder-source.js');
  return { src: new FolderSource(dir), owned: true };
}

const exists = async (src: ModelSource, name: string) => (await src.probe(name)) !== undefined;

/** Read and JSON.parse file `name` of `src`; a syntax error becomes a ConfigError naming the file. */
async function readJson(src: ModelSource, name: string): Promise<unknown> {
  const path = src.where(name);
  const text = await readSourceText(src, name, MAX_JSON_FILE_BYTES, (msg) => new ConfigError(path, [msg]));
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ConfigError(path, [`invalid JSON: ${(e as Error).message}`]);
  }
}

/** How the weights of a directory are stored. */
export interface WeightFiles {
  /** `model.safetensors` or the index file. */
  kind: 'single' | 'index';
  index?: { file: string; totalSize: number | null };
  /** Shard file names (relative to the directory), in index order. */
  shards: string[];
}

export class Checkpoint {
  /** The folder path, base URL or picked folder's label (errors name it). */
  readonly dir: string;
  /** Where the files come from. */
  readonly source: ModelSource;
  private readonly ownsSource: boolean;
  readonly config: OvisConfig;
  readonly generationConfig: GenerationConfig;
  readonly preprocessorConfig?: PreprocessorConfig;
  readonly tokenizerConfig?: Record<string, unknown>;
  /** GPTQ quantization (config.json quantization_config / quantize_config.json), null for a float checkpoint. */
  readonly quantization: GptqConfig | null;
  /** Every tensor across all shards (shard order, then file order within a shard). */
  readonly tensors: Map<string, TensorInfo>;
  readonly weightFiles: WeightFiles;
  /** Open shard files (headers parsed; data read lazily). */
  readonly shards: SafetensorsFile[];
  private readonly shardOf: Map<string, SafetensorsFile>;

  private constructor(init: {
    source: ModelSource;
    ownsSource: boolean;
    config: OvisConfig;
    generationConfig: GenerationConfig;
    preprocessorConfig?: PreprocessorConfig;
    tokenizerConfig?: Record<string, unknown>;
    quantization: GptqConfig | null;
    weightFiles: WeightFiles;
    shards: SafetensorsFile[];
    shardOf: Map<string, SafetensorsFile>;
  }) {
    this.dir = init.source.label;
    this.source = init.source;
    this.ownsSource = init.ownsSource;
    this.config = init.config;
    this.generationConfig = init.generationConfig;
    this.preprocessorConfig = init.preprocessorConfig;
    this.tokenizerConfig = init.tokenizerConfig;
    this.quantization = init.quantization;
    this.weightFiles = init.weightFiles;
    this.shards = init.shards;
    this.shardOf = init.shardOf;
    this.tensors = new Map();
    for (const [name, f] of init.shardOf) this.tensors.set(name, f.tensors.get(name)!);
  }

  /** Open a checkpoint: a folder path (Node, Deno, Bun) or a ModelSource (HttpSource,
   *  BlobSource). Parses the configs and every shard header (no weights read). */
  static async open(dir: string | ModelSource): Promise<Checkpoint> {
    const { src, owned } = await asSource(dir);
    try {
      return await Checkpoint.openSource(src, owned);
    } catch (e) {
      if (owned) await src.close();
      throw e;
    }
  }

  private static async openSource(src: ModelSource, ownsSource: boolean): Promise<Checkpoint> {
    if (!(await exists(src, CONFIG_FILE))) {
      throw new CheckpointError(
        `${src.label}: no ${CONFIG_FILE}`,
        'pass a Hugging Face checkpoint directory (the one containing config.json and the .safetensors files)',
      );
    }
    const configPath = src.where(CONFIG_FILE);
    const configJson = await readJson(src, CONFIG_FILE);
    const config = parseOvisConfig(configJson, configPath);
    const qcPath = src.where(QUANTIZE_CONFIG_FILE);
    const quantization = resolveQuantization(
      isPlainObject(configJson) ? configJson.quantization_config : undefined,
      configPath,
      (await exists(src, QUANTIZE_CONFIG_FILE)) ? await readJson(src, QUANTIZE_CONFIG_FILE) : undefined,
      qcPath,
    );
    const genPath = src.where(GENERATION_CONFIG_FILE);
    const generationConfig = (await exists(src, GENERATION_CONFIG_FILE))
      ? parseGenerationConfig(await readJson(src, GENERATION_CONFIG_FILE), genPath, config.llm_config)
      : generationConfigFromLlm(config.llm_config);
    const ppPath = src.where(PREPROCESSOR_CONFIG_FILE);
    const preprocessorConfig = (await exists(src, PREPROCESSOR_CONFIG_FILE))
      ? parsePreprocessorConfig(await readJson(src, PREPROCESSOR_CONFIG_FILE), ppPath)
      : undefined;
    if (preprocessorConfig) {
      const side = config.visual_tokenizer_config.backbone_config.image_size;
      if (preprocessorConfig.size.height !== side) {
        throw new ConfigError(ppPath, [
          `size.height ${preprocessorConfig.size.height} differs from visual_tokenizer_config.backbone_config.image_size ${side} in ${CONFIG_FILE}`,
        ]);
      }
    }
    const tcPath = src.where(TOKENIZER_CONFIG_FILE);
    let tokenizerConfig: Record<string, unknown> | undefined;
    if (await exists(src, TOKENIZER_CONFIG_FILE)) {
      const j = await readJson(src, TOKENIZER_CONFIG_FILE);
      if (!isPlainObject(j)) throw new ConfigError(tcPath, [`expected a JSON object, got ${jsonKind(j)}`]);
      tokenizerConfig = j;
    }
    const { weightFiles, shards, shardOf } = await openWeights(src);
    return new Checkpoint({
      source: src,
      ownsSource,
      config,
      generationConfig,
      preprocessorConfig,
      tokenizerConfig,
      quantization,
      weightFiles,
      shards,
      shardOf,
    });
  }

  /** Metadata of one tensor (throws CheckpointError if absent). */
  info(name: string): TensorInfo {
    const t = this.tensors.get(name);
    if (!t)
      throw new CheckpointError(`${this.dir}: no tensor named ${JSON.stringify(name)} in the checkpoint (${this.tensors.size} tensors)`);
    return t;
  }

  private fileOf(name: string): SafetensorsFile {
    this.info(name);
    return this.shardOf.get(name)!;
  }

  /** Read one tensor as stored (see SafetensorsFile.read). */
  async read(name: string): Promise<HostTensor> {
    return this.fileOf(name).read(name);
  }
  /** Read one tensor widened to f32. */
  async readRows(name: string, n0: number, rows: number): Promise<HostTensor> {
    return this.fileOf(name).readRows(name, n0, rows);
  }

  async readF32(name: string): Promise<Float32Array> {
    return this.fileOf(name).readF32(name);
  }
  /** Read one tensor's raw bytes into `dst` (e.g. wasm memory). */
  async readInto(name: string, dst: Uint8Array): Promise<void> {
    return this.fileOf(name).readInto(name, dst);
  }

  /** Compare the tensors with what the config's architecture needs. */
  check(): TensorCheck {
    return checkTensors(this.config, this.tensors, this.quantization);
  }

  /** Throw CheckpointError listing every problem if the model cannot run from these tensors. */
  assertRunnable(): void {
    const r = this.check();
    if (r.ok) return;
    throw new CheckpointError(
      `${this.dir}: the tensors do not match config.json:\n${describeCheck(r).join('\n')}`,
      'config.json and the .safetensors files come from different checkpoints, or a download is incomplete',
    );
  }

  async close(): Promise<void> {
    await Promise.all(this.shards.map((s) => s.close()));
    if (this.ownsSource) await this.source.close();
  }
}

async function openWeights(
  src: ModelSource,
): Promise<{ weightFiles: WeightFiles; shards: SafetensorsFile[]; shardOf: Map<string, SafetensorsFile> }> {
  const dir = src.label;
  const indexPath = src.where(SAFE_WEIGHTS_INDEX_NAME);
  if (await exists(src, SAFE_WEIGHTS_NAME)) {
    const f = await SafetensorsFile.fromSource(src, SAFE_WEIGHTS_NAME);
    const shardOf = new Map([...f.tensors.keys()].map((n) => [n, f]));
    return { weightFiles: { kind: 'single', shards: [SAFE_WEIGHTS_NAME] }, shards: [f], shardOf };
  }
  if (!(await exists(src, SAFE_WEIGHTS_INDEX_NAME))) {
    throw new CheckpointError(
      `${dir}: neither ${SAFE_WEIGHTS_NAME} nor ${SAFE_WEIGHTS_INDEX_NAME} found`,
      'only safetensors checkpoints are supported (no pytorch_model.bin); is the download complete?',
    );
  }
  const text = await readSourceText(
    src,
    SAFE_WEIGHTS_INDEX_NAME,
    MAX_JSON_FILE_BYTES,
    (msg) => new CheckpointError(`${indexPath}: ${msg}`),
  );
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new CheckpointError(`${indexPath}: invalid JSON: ${(e as Error).message}`);
  }
  if (!isPlainObject(json) || !isPlainObject(json.weight_map)) {
    throw new CheckpointError(
      `${indexPath}: expected an object with a "weight_map" object, got ${isPlainObject(json) ? 'weight_map ' + jsonKind(json.weight_map) : jsonKind(json)}`,
    );
  }
  const dups = findDuplicateKeys(text);
  if (dups.length) {
    throw new CheckpointError(
      `${indexPath}: tensor listed twice in the index: ${dups.join(', ')}`,
      'the index file is corrupt; re-download it',
    );
  }
  const weightMap = json.weight_map;
  const problems: string[] = [];
  const shardNames: string[] = [];
  for (const [name, shard] of Object.entries(weightMap)) {
    if (
      typeof shard !== 'string' ||
      !shard.endsWith('.safetensors') ||
      shard.includes('/') ||
      shard.includes('\\') ||
      shard.startsWith('.')
    ) {
      problems.push(`weight_map[${JSON.stringify(name)}]: expected a .safetensors file name in the same directory, got ${jsonKind(shard)}`);
      continue;
    }
    if (!shardNames.includes(shard)) shardNames.push(shard);
  }
  if (problems.length) throw new CheckpointError(`${indexPath}:\n  ${problems.join('\n  ')}`);
  const meta = isPlainObject(json.metadata) ? json.metadata : {};
  const totalSize = typeof meta.total_size === 'number' ? meta.total_size : null;

  const files = new Map<string, SafetensorsFile>();
  const opened: SafetensorsFile[] = [];
  try {
    const absent: string[] = [];
    for (const s of shardNames) if (!(await exists(src, s))) absent.push(s);
    if (absent.length) {
      throw new CheckpointError(
        `${dir}: ${absent.length} shard(s) named in ${SAFE_WEIGHTS_INDEX_NAME} do not exist: ${absent.join(', ')}`,
        'the download is incomplete: fetch every model-*.safetensors file listed in the index',
      );
    }
    for (const s of shardNames) {
      const f = await SafetensorsFile.fromSource(src, s);
      files.set(s, f);
      opened.push(f);
    }
    // Cross-check index and shards: every indexed tensor is in its shard; no tensor in two
    // shards; no tensor in a shard that the index does not list.
    const shardOf = new Map<string, SafetensorsFile>();
    for (const [name, shard] of Object.entries(weightMap) as [string, string][]) {
      const f = files.get(shard)!;
      if (!f.tensors.has(name)) problems.push(`index maps ${JSON.stringify(name)} to ${shard}, which does not contain it`);
      else shardOf.set(name, f);
    }
    const seen = new Map<string, string>();
    for (const [s, f] of files) {
      for (const name of f.tensors.keys()) {
        const prev = seen.get(name);
        if (prev) problems.push(`tensor ${JSON.stringify(name)} is stored twice: in ${prev} and in ${s}`);
        seen.set(name, s);
        if (!Object.hasOwn(weightMap, name)) problems.push(`${s} contains ${JSON.stringify(name)}, which the index does not list`);
      }
    }
    if (problems.length) {
      const shown = problems.slice(0, 20);
      if (problems.length > 20) shown.push(`... and ${problems.length - 20} more`);
      throw new CheckpointError(
        `${indexPath} and its shards disagree:\n  ${shown.join('\n  ')}`,
        'the index and the shard files come from different uploads; re-download them together',
      );
    }
    // Keep shard order, then file order inside each shard.
    const ordered = new Map<string, SafetensorsFile>();
    for (const f of opened) for (const name of f.tensors.keys()) ordered.set(name, shardOf.get(name)!);
    return {
      weightFiles: { kind: 'index', index: { file: SAFE_WEIGHTS_INDEX_NAME, totalSize }, shards: shardNames },
      shards: opened,
      shardOf: ordered,
    };
  } catch (e) {
    await Promise.all(opened.map((f) => f.close()));
    throw e;
  }
}
