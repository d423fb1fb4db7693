import { type Logger, pino } from 'pino';

export interface LoggerOptions {
  level: string;
  format: 'auto' | 'json' | 'pretty';
  isTTY: boolean;
}

export function createLogger(options: LoggerOptions): Logger {
  const pretty = options.format === 'pretty' || (options.format === 'auto' && options.isTTY);
  if (!pretty) return pino({ level: options.level, base: { name: 'gateway' } });
  return pino({
    level: options.level,
    base: { name: 'gateway' },
    transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l' } },
  });
}
