import type { Logger } from '../contracts/services';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
const ORDER: readonly LogLevel[] = ['debug', 'info', 'warn', 'error', 'silent'];

/** Logger writing `[shnet] level: message` lines to stderr, so stdout stays machine-readable. */
export class StderrLogger implements Logger {
  constructor(private readonly level: LogLevel = 'info') {}
  debug(message: string): void {
    this.write('debug', message);
  }
  info(message: string): void {
    this.write('info', message);
  }
  warn(message: string): void {
    this.write('warn', message);
  }
  error(message: string): void {
    this.write('error', message);
  }
  private write(level: LogLevel, message: string): void {
    if (ORDER.indexOf(level) < ORDER.indexOf(this.level)) return;
    process.stderr.write(`[shnet] ${level === 'info' ? '' : `${level}: `}${message}\n`);
  }
}
