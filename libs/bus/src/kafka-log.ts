// Routes kafkajs's own logging into the bus's Logger (pino-compatible), so broker trouble shows up
// in the service's structured logs instead of kafkajs's console JSON. No decisions here.

import kafkajs, { type logCreator, type LogEntry } from 'kafkajs';
import type { Logger } from './logger.ts';

const { logLevel } = kafkajs;

export type KafkaLogLevel = 'nothing' | 'error' | 'warn' | 'info' | 'debug';

export const kafkaLogLevels: Record<KafkaLogLevel, kafkajs.logLevel> = {
  nothing: logLevel.NOTHING,
  error: logLevel.ERROR,
  warn: logLevel.WARN,
  info: logLevel.INFO,
  debug: logLevel.DEBUG,
};

export function kafkaLogCreator(log: Logger): logCreator {
  return () =>
    ({ namespace, level, log: entry }: LogEntry) => {
      const { message, timestamp: _timestamp, ...fields } = entry;
      const object = { kafkajs: namespace, ...fields };
      if (level === logLevel.ERROR) log.error(object, message);
      else if (level === logLevel.WARN) log.warn(object, message);
      else if (level === logLevel.INFO) log.info(object, message);
      else log.debug(object, message);
    };
}
