/**
 * A test file that uses redis-server, for test/support/preflight.test.ts: run alone by a child mocha on a PATH
 * without redis-server, its one test must never start.
 */
import { startRedisServer } from './redis-server';

describe('a test that needs redis-server', () => {
  it('never runs when redis-server is missing', async () => {
    const server = await startRedisServer();
    await server.stop();
  });
});
