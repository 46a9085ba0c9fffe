import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testPython } from './python-env';
import { freePort } from './free-port';

/** A real MLflow tracking server (the pinned version from requirements.txt) on a loopback port. */
export interface MlflowTestServer {
  /** `http://127.0.0.1:<port>` */
  readonly uri: string;
  readonly port: number;
  /** Folder holding the server's database, artifacts and log. */
  readonly dir: string;
  /** Kills the server (SIGKILL: no clean shutdown, like a crash) and waits until its processes are gone. */
  kill(): Promise<void>;
  /** Kills the server and starts it again on the same port with the same store. */
  restart(): Promise<void>;
  /** Kills the server and removes its folder. */
  stop(): Promise<void>;
  /** The server's log so far (for failing tests). */
  log(): string;
}

export interface MlflowServerOptions {
  /** Backend store: SQLite (default, what MLflow recommends) or a FileStore folder. */
  backend?: 'sqlite' | 'file';
  /** Extra environment for the server (e.g. `MLFLOW_TRUNCATE_LONG_VALUES`). */
  env?: NodeJS.ProcessEnv;
  /** How long to wait for `/health` (ms). */
  startTimeoutMs?: number;
}

const live = new Set<ChildProcess>();
// A test run that dies must not leave servers behind: each runs in its own process group, killed here.
process.once('exit', () => {
  for (const child of live) killGroup(child, 'SIGKILL');
});

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-child.pid!, signal);
  } catch {
    // Already gone.
  }
}

/**
 * Starts `python -m mlflow server` with a SQLite (or file) backend and proxied artifacts (`--serve-artifacts` is the
 * default in 3.x) in a fresh temporary folder, and waits until `/health` answers. Loopback hosts are allowed by the
 * server's default security middleware, so no `--allowed-hosts` is needed. The job runner (huey workers, used for
 * GenAI features) is switched off to keep the server to one process tree of modest size.
 */
export async function startMlflowServer(options: MlflowServerOptions = {}): Promise<MlflowTestServer> {
  const python = testPython();
  const dir = mkdtempSync(join(tmpdir(), 'shnet-mlflow-server-'));
  const port = await freePort();
  const uri = `http://127.0.0.1:${port}`;
  const backend = options.backend === 'file' ? `file://${join(dir, 'mlruns')}` : `sqlite:///${join(dir, 'mlflow.db')}`;
  const logFile = join(dir, 'server.log');
  const args = ['-m', 'mlflow', 'server', '--host', '127.0.0.1', '--port', String(port), '--workers', '1'];
  args.push('--backend-store-uri', backend, '--artifacts-destination', join(dir, 'artifacts'));
  const env = {
    ...process.env,
    MLFLOW_SERVER_ENABLE_JOB_EXECUTION: 'false',
    MLFLOW_ALLOW_FILE_STORE: 'true',
    // The server must not pick up credentials or a tracking URI meant for the client under test.
    MLFLOW_TRACKING_URI: '',
    MLFLOW_TRACKING_TOKEN: '',
    ...options.env,
  };
  let child: ChildProcess | undefined;

  async function start(): Promise<void> {
    const log = openSync(logFile, 'a');
    child = spawn(python, args, { cwd: dir, env, detached: true, stdio: ['ignore', log, log] });
    live.add(child);
    const deadline = Date.now() + (options.startTimeoutMs ?? 90_000);
    while (Date.now() < deadline) {
      if (child.exitCode !== null) break;
      try {
        const response = await fetch(`${uri}/health`, { signal: AbortSignal.timeout(1000) });
        if (response.ok) return;
      } catch {
        // Not listening yet.
      }
      await new Promise((done) => setTimeout(done, 250));
    }
    await kill();
    throw new Error(`MLflow server did not start on ${uri}:\n${readFileSync(logFile, 'utf8').slice(-3000)}`);
  }

  async function kill(): Promise<void> {
    const current = child;
    if (!current) return;
    child = undefined;
    const exited = new Promise<void>((done) => (current.exitCode !== null ? done() : current.once('exit', () => done())));
    killGroup(current, 'SIGKILL');
    await exited;
    live.delete(current);
    // Workers of the group may outlive the leader by a moment; the port must be free before a restart.
    for (let i = 0; i < 40; i++) {
      try {
        process.kill(-current.pid!, 0);
      } catch {
        return;
      }
      await new Promise((done) => setTimeout(done, 50));
    }
  }

  await start();
  return {
    uri,
    port,
    dir,
    kill,
    async restart() {
      await kill();
      await start();
    },
    async stop() {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
    log: () => readFileSync(logFile, 'utf8'),
  };
}
