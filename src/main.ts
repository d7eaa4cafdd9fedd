import { createApp } from './app.js';
import { devBanner } from './auth/dev-key.js';
import { type Config, ConfigError, loadConfigFromProcess } from './config.js';
import { createLogger } from './logger.js';

/** Entry point: configuration, app, signals and exit codes. */
async function main(): Promise<void> {
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

  const app = await createApp(config, { logger });
  await app.start();
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

main().catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`longrun: failed to start: ${message}\n`);
  process.exit(1);
});
