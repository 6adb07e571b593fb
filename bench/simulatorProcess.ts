import { spawn, type ChildProcess } from 'child_process';
import { join } from 'path';

import type { SimulatorInfo } from '../test/simulator/server';

/**
 * A TypeScript script in a process of its own, straight under node (tsx as an import hook,
 * not its CLI, so it is one process), whose first line of output is a JSON description.
 */
export async function startScriptProcess<T>(
	script: string,
	args: string[],
): Promise<{ info: T; stop: () => Promise<void> }> {
	const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
		stdio: ['ignore', 'pipe', 'inherit'],
	});
	const info = await new Promise<T>((resolve, reject) => {
		let out = '';
		child.stdout!.on('data', (c: Buffer) => {
			out += c.toString();
			const nl = out.indexOf('\n');
			if (nl >= 0) resolve(JSON.parse(out.slice(0, nl)) as T);
		});
		child.once('exit', (code) => reject(new Error(`${script} exited with ${code}`)));
	});
	return {
		info,
		stop: () =>
			new Promise<void>((resolve) => {
				if (child.exitCode !== null) return resolve();
				child.once('exit', () => resolve());
				child.kill('SIGTERM');
			}),
	};
}

/**
 * The simulator in a process of its own, as Ksher is a different machine: its signing and
 * HTTP work then does not compete with n8n's event loop in the figures.
 */
export function startSimulatorProcess(): Promise<{
	info: SimulatorInfo;
	stop: () => Promise<void>;
}> {
	return startScriptProcess<SimulatorInfo>(join(__dirname, '..', 'test/simulator/cli.ts'), [
		'--port',
		'0',
		'--quiet',
	]);
}

export async function control(
	info: SimulatorInfo,
	path: string,
	body: unknown = {},
): Promise<void> {
	const response = await fetch(`${info.controlUrl}${path}`, {
		method: 'POST',
		headers: { 'content-type': 'application/json' },
		body: JSON.stringify(body),
	});
	if (response.status !== 200)
		throw new Error(`simulator ${path}: ${response.status} ${await response.text()}`);
}
