import { type ChildProcess, spawn } from 'node:child_process';
import { createConnection } from 'node:net';
import { freePort } from './free-port';

/** A throwaway Redis (Debian's `redis-server`) on a loopback port: no persistence, stopped by the test that started it. */
export interface RedisTestServer {
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
  /** Stops the server and starts an empty one on the same port: every key is gone (no persistence). */
  restart(): Promise<void>;
}

/** True when Redis answers PING on `port`. */
function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.setTimeout(1000);
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => {
      socket.destroy();
      resolve(data.toString().startsWith('+PONG'));
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

const live = new Set<ChildProcess>();
// A test run that dies must not leave servers behind.
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/** Starts `redis-server --port <free> --save '' --appendonly no` on 127.0.0.1 and waits until it answers. */
export async function startRedisServer(): Promise<RedisTestServer> {
  const port = await freePort();
  let child = await spawnRedis(port);
  const stop = async () => {
    if (child.exitCode === null) {
      const exited = new Promise((done) => child.once('exit', done));
      child.kill('SIGTERM');
      await exited;
    }
    live.delete(child);
  };
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    stop,
    async restart() {
      await stop();
      child = await spawnRedis(port);
    },
  };
}

/** Runs `redis-server` on `port` (no persistence) until it answers PING. */
async function spawnRedis(port: number): Promise<ChildProcess> {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (await ping(port)) return child;
    const failed = await Promise.race([spawnError, new Promise<null>((done) => setTimeout(() => done(null), 100))]);
    if (failed || child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      live.delete(child);
      throw new Error(`redis-server did not start on port ${port} (is the redis-server package installed?): ${failed?.message ?? output.slice(-2000)}`);
    }
  }
}
