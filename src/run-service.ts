import { createApp } from './app.js';
import { devBanner } from './auth/dev-key.js';
import { type Config, ConfigError, loadConfigFromProcess } from './config.js';
import type { Handler } from './handlers/handler.js';
import { createLogger } from './logger.js';

/** Options of `runService`. */
export interface RunServiceOptions {
  /** Handlers to register beside the built-in `demo.sleep`. */
  readonly handlers?: readonly Handler[];
}

/**
 * Runs longrun as a process: configuration from the environment, the app, the development banner,
 * and SIGTERM/SIGINT handling (graceful stop, exit 0; a second signal exits at once with 1).
 * Configuration errors exit 2 with a one-line reason.
 */
export async function runService(options: RunServiceOptions = {}): Promise<void> {
  let config: Config;
  try {
    config = loadConfigFromProcess();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`longrun: configuration error: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const logger = createLogger(config.logLevel);
  process.on('unhandledRejection', (error) => logger.error('unhandled rejection', { error }));

  let app: Awaited<ReturnType<typeof createApp>>;
  try {
    app = await createApp(config, { logger, handlers: options.handlers ?? [] });
    await app.start();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`longrun: failed to start: ${message}\n`);
    process.exit(1);
  }
  if (app.devToken) process.stdout.write(`${devBanner(app.devToken, app.url)}\n`);

  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals++;
    if (signals > 1) {
      logger.warn('second signal: exiting now', { signal });
      process.exit(1);
    }
    logger.info('signal received: stopping gracefully', { signal });
    app.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error('shutdown failed', { error });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
