/**
 * The server side of `bench/event-loop.ts`: a longrun app in its own process (so the client's
 * work does not show up in the figures) that reports its event-loop delay over IPC. `reset`
 * starts a fresh histogram; `report` answers with the delays seen since, in milliseconds.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';

const send = (message: unknown) => process.send?.(message);
const app = await createApp(loadConfig(process.env), { logger: createLogger('error') });
await app.start();

// 1 ms resolution: the longest delay is (within 1 ms) the longest stretch the loop was held.
const delay = monitorEventLoopDelay({ resolution: 1 });
delay.enable();
process.on('message', (message: unknown) => {
  if (message === 'reset') {
    delay.reset();
    send({ reset: true });
  } else if (message === 'report') {
    send({
      maxMs: delay.max / 1e6,
      p99Ms: delay.percentile(99) / 1e6,
      meanMs: delay.mean / 1e6,
    });
  } else if (message === 'stop') {
    delay.disable();
    void app.stop().then(() => process.exit(0));
  }
});
send({ url: app.url });
