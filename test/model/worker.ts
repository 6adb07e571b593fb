import '../setup/env';

import { startHarness, type SimulatorHarness } from '../helpers/simulator';
import { MODEL_KEY_BITS, runCase } from './runner';
import type { CaseInput } from './scenario';

/**
 * A process that runs refund-model cases (test/model/pool.ts starts two, so that both cores
 * work): one simulator per lane, each lane's cases one after another, the lanes side by side.
 * Messages: `{ id, lane, input }` → `{ id, observation }` or `{ id, error }`.
 */
// tsx maps every stack trace through source maps; n8n builds many errors per run, and the cases never print them.
process.setSourceMapsEnabled(false);

const harnesses = new Map<number, Promise<SimulatorHarness>>();
const harness = (lane: number) => {
	let h = harnesses.get(lane);
	if (!h) harnesses.set(lane, (h = startHarness({ keyBits: MODEL_KEY_BITS })));
	return h;
};

process.on(
	'message',
	(message: { id: number; lane: number; input: CaseInput } | { stop: true } | { cpu: true }) => {
		if ('cpu' in message) {
			const { user, system } = process.cpuUsage();
			process.send!({ cpuMs: (user + system) / 1000 });
			return;
		}
		if ('stop' in message) {
			void Promise.all([...harnesses.values()].map(async (h) => (await h).sim.close())).finally(
				() => process.exit(0),
			);
			return;
		}
		const { id, lane, input } = message;
		harness(lane)
			.then((h) => runCase(h, input))
			.then(
				(observation) => process.send!({ id, observation }),
				(error: unknown) =>
					process.send!({
						id,
						error: error instanceof Error ? (error.stack ?? error.message) : String(error),
					}),
			);
	},
);
process.on('disconnect', () => process.exit(0));
process.send!({ ready: true });
