import { fork, type ChildProcess } from 'child_process';
import { join } from 'path';

import type { CaseObservation } from './runner';
import type { CaseInput } from './scenario';

/**
 * Where the model's cases run. The node through n8n's engine costs a few milliseconds of CPU per
 * call, so 10,000 cases need both cores: `workers` processes (test/model/worker.ts, started with
 * tsx) each run their lanes' cases, while this process only generates, shrinks and judges.
 * With `workers` 0 the cases run in this process (for debugging).
 */
export interface CasePool {
	run(lane: number, input: CaseInput): Promise<CaseObservation>;
	/** CPU time the processes running cases have used so far, in ms. */
	cpuMs(): Promise<number>;
	close(): Promise<void>;
}

export async function startPool(workers: number): Promise<CasePool> {
	if (workers <= 0) {
		const [{ startHarness }, { MODEL_KEY_BITS, runCase }] = await Promise.all([
			import('../helpers/simulator'),
			import('./runner'),
		]);
		const harnesses = new Map<number, ReturnType<typeof startHarness>>();
		return {
			run: async (lane, input) => {
				if (!harnesses.has(lane)) harnesses.set(lane, startHarness({ keyBits: MODEL_KEY_BITS }));
				return await runCase(await harnesses.get(lane)!, input);
			},
			cpuMs: async () => {
				const { user, system } = process.cpuUsage();
				return (user + system) / 1000;
			},
			close: async () => {
				for (const h of harnesses.values()) await (await h).sim.close();
			},
		};
	}
	const pending = new Map<
		number,
		{ resolve: (o: CaseObservation) => void; reject: (e: Error) => void }
	>();
	const cpuWaiters: Array<(ms: number) => void> = [];
	let nextId = 0;
	const children: ChildProcess[] = await Promise.all(
		Array.from({ length: workers }, async () => {
			const child = fork(join(__dirname, 'worker.ts'), [], {
				cwd: join(__dirname, '..', '..'),
				// A larger young generation (the engine allocates a lot per run; scavenges were a tenth of the
				// time), collected on the process's own thread: the other core runs the other process.
				execArgv: ['--import', 'tsx', '--max-semi-space-size=32', '--single-threaded-gc'],
				stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
			});
			child.on(
				'message',
				(message: {
					ready?: true;
					id?: number;
					observation?: CaseObservation;
					error?: string;
					cpuMs?: number;
				}) => {
					if (message.cpuMs !== undefined) cpuWaiters.shift()?.(message.cpuMs);
					if (message.id === undefined) return;
					const waiting = pending.get(message.id);
					pending.delete(message.id);
					if (message.error !== undefined)
						waiting?.reject(new Error(`the case could not run: ${message.error}`));
					else waiting?.resolve(message.observation!);
				},
			);
			child.on('exit', (code) => {
				for (const [id, waiting] of pending) {
					waiting.reject(new Error(`refund model worker exited (${code})`));
					pending.delete(id);
				}
			});
			await new Promise<void>((resolve, reject) => {
				child.once('message', () => resolve());
				child.once('error', reject);
				child.once('exit', (code) =>
					reject(new Error(`refund model worker exited before it was ready (${code})`)),
				);
			});
			return child;
		}),
	);
	return {
		run: (lane, input) =>
			new Promise((resolve, reject) => {
				const id = nextId++;
				pending.set(id, { resolve, reject });
				children[lane % children.length].send({ id, lane, input });
			}),
		cpuMs: async () => {
			const each = await Promise.all(
				children.map(
					(child) =>
						new Promise<number>((resolve) => {
							cpuWaiters.push(resolve);
							child.send({ cpu: true });
						}),
				),
			);
			return each.reduce((a, b) => a + b, 0);
		},
		close: async () => {
			await Promise.all(
				children.map(
					(child) =>
						new Promise<void>((resolve) => {
							if (child.exitCode !== null) return resolve();
							child.once('exit', () => resolve());
							child.send({ stop: true });
							setTimeout(() => child.kill(), 5000).unref();
						}),
				),
			);
		},
	};
}
