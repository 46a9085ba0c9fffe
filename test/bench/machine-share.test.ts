import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cpuSnapshot, machineBusyTicks, othersCores, processTicks } from '../../bench/machine-share';
import { formatMarkdown, formatTable, type Row } from '../../bench/report';

describe('bench/machine-share: CPU other processes took during a section', () => {
  it('sums the busy fields of the aggregate cpu line, not idle or iowait', () => {
    const stat = 'cpu  100 5 20 9000 40 1 2 3 0 0\ncpu0 50 2 10 4500 20 0 1 1 0 0\nintr 1 2 3\n';
    assert.equal(machineBusyTicks(stat), 100 + 5 + 20 + 1 + 2 + 3);
    assert.throws(() => machineBusyTicks('intr 1 2\n'), /no aggregate "cpu" line/);
  });

  it('reads utime, stime, cutime and cstime even when the command name holds spaces and parentheses', () => {
    // Fields: pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime cutime cstime …
    const line = '4242 (node (a) b) S 1 2 3 4 5 6 7 8 9 10 111 222 333 444 20 0 1 0 5 6 7';
    assert.equal(processTicks(line), 111 + 222 + 333 + 444);
  });

  it('attributes to other processes only the machine time that is not ours', () => {
    const before = { at: 0, machineTicks: 1000, ownTicks: 300 };
    const after = { at: 10_000, machineTicks: 1000 + 2000, ownTicks: 300 + 1500 };
    // 20 s of CPU on the machine in 10 s, 15 of them ours: others kept half a core busy.
    assert.equal(othersCores(before, after), 0.5);
    assert.equal(othersCores(before, { ...after, ownTicks: 300 + 2100 }), 0, 'never negative');
  });

  it('counts a busy process outside our tree, and not a child of ours', async function () {
    if (!existsSync('/proc/stat')) this.skip();
    this.timeout(20_000);
    const burn = 'const t = Date.now(); while (Date.now() - t < 1500);';
    const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    // Ours: a child we wait for is in our cutime once it exits.
    const a = cpuSnapshot()!;
    execFileSync(process.execPath, ['-e', burn]);
    await sleep(200);
    const ownShare = othersCores(a, cpuSnapshot()!);
    // Another tree's: started by a shell that exits at once, so the burner is reparented and never reaped by us.
    const b = cpuSnapshot()!;
    execFileSync('sh', ['-c', `${JSON.stringify(process.execPath)} -e ${JSON.stringify(burn)} >/dev/null 2>&1 &`]);
    await sleep(1700);
    const otherShare = othersCores(b, cpuSnapshot()!);
    assert.ok(otherShare > ownShare + 0.4, `a burning process outside our tree: ${otherShare} cores; our own child: ${ownShare}`);
  });

  it("prints a busy section's judgment marked, in the text and Markdown tables", () => {
    const rows: Row[] = [
      { section: '4 vs PyTorch', measure: 'fwd+bwd', value: '3049 ms', ratio: 0.5, target: '≥ 2', met: false, busy: true },
      { section: '5 streaming', measure: 'sync', value: '9917 MB/s', ratio: 0.85, target: '≥ 0.8', met: true },
    ];
    assert.match(formatTable(rows), /\| NO \(busy\)\n.*\| yes$/);
    assert.match(formatMarkdown(rows), /\| \*\*no\*\* \(busy\) \|\n.*\| yes \|$/);
  });
});
