/**
 * longrun as a library: run the service with your own handler kinds, or compose it yourself.
 *
 * ```ts
 * import { defineHandler, runService } from 'longrun';
 * await runService({ handlers: [myHandler] });
 * ```
 */
export { type App, type AppOptions, createApp } from './app.js';
export { type Config, ConfigError, loadConfig, loadConfigFromProcess } from './config.js';
export { defineHandler, type Handler, type HandlerContext } from './handlers/handler.js';
export { parseWithSchema } from './handlers/parse-input.js';
export { createLogger, type Logger } from './logger.js';
export { ValidationError } from './operations/errors.js';
export type { JsonValue, OperationRecord } from './operations/model.js';
export { OperationStatus } from './operations/status.js';
export { type RunServiceOptions, runService } from './run-service.js';
