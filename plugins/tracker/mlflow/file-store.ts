import { randomInt, randomUUID } from 'node:crypto';
import { appendFileSync, cpSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parse, stringify } from 'yaml';
import { RunFailure, type RunStatus, UsageError, writeFileAtomic } from 'shnet';

/**
 * A writer (and reader) for MLflow's FileStore layout (`mlflow/store/tracking/file_store.py`): the offline store Python
 * MLflow opens with `MLFLOW_ALLOW_FILE_STORE=true`, and the write-ahead log of the server tracker. Keys given here are
 * already sanitised (see `keys.ts`); a `/` in a key becomes a sub-directory, as in MLflow.
 */

/** FileStore's integer run states (`RunStatus` in MLflow's protos). */
const STATUS_CODE: Record<RunStatus, number> = { RUNNING: 1, FINISHED: 3, FAILED: 4, KILLED: 5 };
const STATUS_NAME: Record<number, RunStatus> = { 1: 'RUNNING', 3: 'FINISHED', 4: 'FAILED', 5: 'KILLED' };
/** `SourceType.LOCAL`. */
const SOURCE_TYPE_LOCAL = 4;
/** Files shnet keeps inside a run folder that MLflow does not read (it reads only the folders it knows). */
export const DELIVERY_CURSOR_FILE = '.shnet-delivery.json';

export interface StoredExperiment {
  experimentId: string;
  name: string;
}

/** A run's `meta.yaml`, in shnet's naming. */
export interface StoredRunMeta {
  runId: string;
  experimentId: string;
  runName: string;
  status: RunStatus;
  startTime: number;
  endTime: number | null;
  userId: string;
}

/** A run folder located in the store. */
export interface StoredRun {
  readonly runId: string;
  readonly experimentId: string;
  readonly dir: string;
}

/** One metric line: `<timestamp> <value> <step>`, with the byte offset just past it in its file. */
export interface StoredMetricPoint {
  timestamp: number;
  value: number;
  step: number;
  end: number;
}

function writeAtomic(path: string, content: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileAtomic(path, content);
}

/** Python writes floats with `repr`; it reads them back with `float()`, which also takes JS's spelling of finite numbers. */
function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'nan';
  if (value === Infinity) return 'inf';
  if (value === -Infinity) return '-inf';
  return String(value);
}

function parseValue(text: string): number {
  const lower = text.toLowerCase();
  if (lower === 'nan') return NaN;
  if (lower === 'inf' || lower === 'infinity') return Infinity;
  if (lower === '-inf' || lower === '-infinity') return -Infinity;
  return Number(text);
}

/** Every file under `dir`, as `/`-separated paths relative to it (MLflow keys of nested metrics, params, tags). */
function listFilesRecursive(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && !entry.name.endsWith('.tmp'))
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)).split(sep).join('/'))
    .sort();
}

/** The MLflow FileStore rooted at one directory (`./mlruns`). */
export class FileStore {
  readonly root: string;

  constructor(root: string) {
    this.root = resolve(root.replace(/^file:(\/\/)?/, ''));
  }

  /** Creates the store with MLflow's "Default" experiment (id "0") when it does not exist yet. */
  ensureInitialized(): void {
    if (existsSync(join(this.root, '0', 'meta.yaml'))) return;
    mkdirSync(join(this.root, '.trash'), { recursive: true });
    if (this.listExperiments().length === 0) this.writeExperiment('0', 'Default');
  }

  listExperiments(): StoredExperiment[] {
    if (!existsSync(this.root)) return [];
    const experiments: StoredExperiment[] = [];
    for (const entry of readdirSync(this.root, { withFileTypes: true })) {
      const meta = join(this.root, entry.name, 'meta.yaml');
      if (!entry.isDirectory() || entry.name === '.trash' || !existsSync(meta)) continue;
      const parsed = parse(readFileSync(meta, 'utf8')) as Record<string, unknown>;
      if (parsed.lifecycle_stage !== 'active') continue;
      experiments.push({ experimentId: String(parsed.experiment_id), name: String(parsed.name) });
    }
    return experiments;
  }

  getOrCreateExperiment(name: string): string {
    this.ensureInitialized();
    const existing = this.listExperiments().find((experiment) => experiment.name === name);
    if (existing) return existing.experimentId;
    // FileStore ids are random positive integers (`_generate_unique_integer_id`).
    let id: string;
    do id = String(randomInt(1, 2 ** 48));
    while (existsSync(join(this.root, id)));
    this.writeExperiment(id, name);
    return id;
  }

  private writeExperiment(id: string, name: string): void {
    const now = Date.now();
    writeAtomic(
      join(this.root, id, 'meta.yaml'),
      stringify({
        artifact_location: pathToFileURL(join(this.root, id)).href,
        creation_time: now,
        experiment_id: id,
        last_update_time: now,
        lifecycle_stage: 'active',
        name,
      }),
    );
  }

  /** Creates a run folder with its `meta.yaml` and the `mlflow.runName` tag (a new 32-hex id unless `runId` is given). */
  createRun(experimentId: string, runName: string, startTime: number, userId: string, runId = randomUUID().replaceAll('-', '')): StoredRun {
    const dir = join(this.root, experimentId, runId);
    for (const sub of ['metrics', 'params', 'tags', 'artifacts']) mkdirSync(join(dir, sub), { recursive: true });
    const run = { runId, experimentId, dir };
    this.writeRunMeta(run, { runId, experimentId, runName, status: 'RUNNING', startTime, endTime: null, userId });
    this.setTag(run, 'mlflow.runName', runName);
    return run;
  }

  /** Finds a run by id in any experiment of the store. */
  findRun(runId: string): StoredRun | undefined {
    for (const { experimentId } of this.listExperiments()) {
      const dir = join(this.root, experimentId, runId);
      if (existsSync(join(dir, 'meta.yaml'))) return { runId, experimentId, dir };
    }
    return undefined;
  }

  listRuns(experimentId: string): StoredRun[] {
    const dir = join(this.root, experimentId);
    if (!existsSync(dir)) return [];
    return readdirSync(dir, { withFileTypes: true })
      .filter((entry) => entry.isDirectory() && existsSync(join(dir, entry.name, 'meta.yaml')))
      .map((entry) => ({ runId: entry.name, experimentId, dir: join(dir, entry.name) }));
  }

  readRunMeta(run: StoredRun): StoredRunMeta {
    const raw = parse(readFileSync(join(run.dir, 'meta.yaml'), 'utf8')) as Record<string, unknown>;
    return {
      runId: String(raw.run_id),
      experimentId: String(raw.experiment_id),
      runName: String(raw.run_name ?? ''),
      status: STATUS_NAME[Number(raw.status)] ?? 'RUNNING',
      startTime: Number(raw.start_time),
      endTime: raw.end_time === null || raw.end_time === undefined ? null : Number(raw.end_time),
      userId: String(raw.user_id ?? ''),
    };
  }

  writeRunMeta(run: StoredRun, meta: StoredRunMeta): void {
    writeAtomic(
      join(run.dir, 'meta.yaml'),
      stringify({
        artifact_uri: pathToFileURL(join(run.dir, 'artifacts')).href,
        end_time: meta.endTime,
        entry_point_name: '',
        experiment_id: meta.experimentId,
        lifecycle_stage: 'active',
        run_id: meta.runId,
        run_name: meta.runName,
        run_uuid: meta.runId,
        source_name: '',
        source_type: SOURCE_TYPE_LOCAL,
        source_version: '',
        start_time: meta.startTime,
        status: STATUS_CODE[meta.status],
        tags: [],
        user_id: meta.userId,
      }),
    );
  }

  setStatus(run: StoredRun, status: RunStatus, endTime: number | null): void {
    this.writeRunMeta(run, { ...this.readRunMeta(run), status, endTime });
  }

  /** Appends metric lines, grouped per key, in the order given. */
  appendMetrics(run: StoredRun, points: { key: string; value: number; step: number; timestamp: number }[]): void {
    const lines = new Map<string, string>();
    for (const point of points) {
      const line = `${point.timestamp} ${formatValue(point.value)} ${point.step}\n`;
      lines.set(point.key, (lines.get(point.key) ?? '') + line);
    }
    for (const [key, text] of lines) {
      const file = join(run.dir, 'metrics', ...key.split('/'));
      mkdirSync(dirname(file), { recursive: true });
      appendFileSync(file, text);
    }
  }

  /** Reads whole lines of one metric file from byte `offset` on (a line still being written is left for later). */
  readMetric(run: StoredRun, key: string, offset = 0): StoredMetricPoint[] {
    const file = join(run.dir, 'metrics', ...key.split('/'));
    if (!existsSync(file) || statSync(file).size <= offset) return [];
    const bytes = readFileSync(file).subarray(offset);
    const points: StoredMetricPoint[] = [];
    let start = 0;
    for (let newline = bytes.indexOf(10); newline >= 0; newline = bytes.indexOf(10, start)) {
      const fields = bytes.toString('utf8', start, newline).trim().split(/\s+/);
      start = newline + 1;
      if (fields.length < 2) continue;
      points.push({
        timestamp: Number(fields[0]),
        value: parseValue(fields[1]),
        step: fields.length > 2 ? Number(fields[2]) : 0,
        end: offset + start,
      });
    }
    return points;
  }

  /** Size in bytes of one metric file (0 when absent): a cheap "is there anything new" check. */
  metricSize(run: StoredRun, key: string): number {
    const file = join(run.dir, 'metrics', ...key.split('/'));
    return existsSync(file) ? statSync(file).size : 0;
  }

  metricKeys(run: StoredRun): string[] {
    return listFilesRecursive(join(run.dir, 'metrics'));
  }

  /** Writes a param; params are write-once, so a different value for an existing key is refused. */
  setParam(run: StoredRun, key: string, value: string): void {
    const file = join(run.dir, 'params', ...key.split('/'));
    if (existsSync(file)) {
      const old = readFileSync(file, 'utf8');
      if (old === value) return;
      throw new UsageError(`param '${key}' of run ${run.runId} is already '${old.slice(0, 80)}'; params are write-once (new value '${value.slice(0, 80)}')`);
    }
    writeAtomic(file, value);
  }

  setTag(run: StoredRun, key: string, value: string): void {
    writeAtomic(join(run.dir, 'tags', ...key.split('/')), value);
  }

  params(run: StoredRun): Map<string, string> {
    return this.readKeyValues(join(run.dir, 'params'));
  }

  tags(run: StoredRun): Map<string, string> {
    return this.readKeyValues(join(run.dir, 'tags'));
  }

  private readKeyValues(dir: string): Map<string, string> {
    return new Map(listFilesRecursive(dir).map((key) => [key, readFileSync(join(dir, ...key.split('/')), 'utf8')]));
  }

  /** Copies a file or folder under the run's `artifacts/` (at `artifactPath`, default the root); returns the copy's path. */
  copyArtifact(run: StoredRun, localPath: string, artifactPath = ''): string {
    if (!existsSync(localPath)) throw new UsageError(`artifact '${localPath}' does not exist`);
    const base = join(run.dir, 'artifacts', ...artifactPath.split('/').filter(Boolean));
    if (!resolve(base).startsWith(resolve(run.dir, 'artifacts'))) {
      throw new UsageError(`artifact path '${artifactPath}' leaves the run's artifact folder`);
    }
    const target = statSync(localPath).isDirectory() ? base : join(base, localPath.split(/[\\/]/).pop()!);
    mkdirSync(dirname(target), { recursive: true });
    try {
      cpSync(localPath, target, { recursive: true });
    } catch (error) {
      throw new RunFailure(`could not copy artifact '${localPath}' into ${target}`, { cause: error });
    }
    return target;
  }

  /** Artifact files of a run as `/`-separated paths relative to its `artifacts/` folder. */
  artifactFiles(run: StoredRun): string[] {
    return listFilesRecursive(join(run.dir, 'artifacts'));
  }

  artifactPath(run: StoredRun, relativePath: string): string {
    return join(run.dir, 'artifacts', ...relativePath.split('/'));
  }
}
