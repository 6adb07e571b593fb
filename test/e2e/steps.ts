import { existsSync, readFileSync } from 'fs';
import { join } from 'path';

import type { N8nInstall } from '../harness/n8n';

/** The e2e's steps: each runs, is timed, and ends as one PASS/FAIL line of the report. */
export interface StepResult {
	step: string;
	ok: boolean;
	seconds: number;
	detail: string;
	line: string;
}
export const results: StepResult[] = [];

/** The n8n the next steps run in ("n8n 2.41.1 (Node 24.21.0)"), for the report. */
let current = 'no n8n';
export const lineLabel = (install: Pick<N8nInstall, 'version' | 'nodeVersion'>) =>
	`n8n ${install.version} (Node ${install.nodeVersion})`;
export function runningIn(install: N8nInstall): void {
	current = lineLabel(install);
}
export const log = (line: string) => process.stderr.write(`[e2e] ${line}\n`);

/** A run that stopped between steps (a set-up that threw): one failed step saying why, in the report. */
export function abortedStep(error: Error): void {
	results.push({
		step: 'the run, between steps',
		ok: false,
		seconds: 0,
		detail: `aborted: ${error.message}`,
		line: current,
	});
}

export function assert(condition: unknown, message: string): asserts condition {
	if (!condition) throw new Error(message);
}

export async function step(name: string, fn: () => Promise<string | void>): Promise<boolean> {
	const started = Date.now();
	log(`▶ [${current}] ${name}`);
	try {
		const detail = (await fn()) ?? '';
		results.push({
			step: name,
			ok: true,
			seconds: (Date.now() - started) / 1000,
			detail,
			line: current,
		});
		return true;
	} catch (error) {
		results.push({
			step: name,
			ok: false,
			seconds: (Date.now() - started) / 1000,
			detail: (error as Error).message,
			line: current,
		});
		log(`✗ ${name}: ${(error as Error).message}`);
		return false;
	}
}

export async function waitFor<T>(
	what: string,
	check: () => Promise<T | undefined> | T | undefined,
	timeoutMs = 60_000,
): Promise<T> {
	const started = Date.now();
	for (;;) {
		const value = await check();
		if (value !== undefined && value !== false) return value;
		if (Date.now() - started > timeoutMs)
			throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
		await new Promise((r) => setTimeout(r, 250));
	}
}

/** The report of every step; 0 when all passed and there were at least `minSteps` (a run that ran almost nothing fails). */
export function report(timings: Record<string, number>, minSteps = 6): number {
	const lines = [...new Set(results.map((r) => r.line))];
	for (const line of lines) {
		process.stdout.write(
			`\nEnd-to-end in a real ${line}, package installed as a community package\n`,
		);
		for (const r of results.filter((x) => x.line === line))
			process.stdout.write(
				`${r.ok ? 'PASS' : 'FAIL'}  ${r.seconds.toFixed(1).padStart(6)} s  ${r.step}\n        ${r.detail}\n`,
			);
	}
	process.stdout.write(
		`timings: ${Object.entries(timings)
			.map(([k, v]) => `${k} ${v.toFixed(1)} s`)
			.join(', ')}\n\n`,
	);
	for (const line of lines) {
		const mine = results.filter((x) => x.line === line);
		process.stdout.write(
			`${line}: ${mine.filter((r) => r.ok).length}/${mine.length} steps passed\n`,
		);
	}
	const passed = results.filter((r) => r.ok).length;
	const failed = results.length - passed;
	process.stdout.write(`e2e: ${passed} passed, ${failed} failed\n`);
	return failed === 0 && results.length >= minSteps ? 0 : 1;
}

/**
 * What the network guard preloaded into every n8n process of a user folder recorded
 * (netguard.js): throws when it was loaded in fewer than `minProcesses` or saw any attempt
 * to reach beyond this machine; returns how many processes it watched.
 */
export function assertStayedOffline(userFolder: string, minProcesses: number): number {
	const netlog = join(userFolder, 'outbound.log');
	const guarded = existsSync(`${netlog}.loaded`)
		? readFileSync(`${netlog}.loaded`, 'utf8').trim().split('\n').length
		: 0;
	assert(guarded >= minProcesses, `the network guard was loaded in only ${guarded} n8n processes`);
	const attempts = existsSync(netlog) ? readFileSync(netlog, 'utf8').trim() : '';
	assert(attempts === '', `outbound attempts: ${attempts.split('\n').slice(0, 5).join('; ')}`);
	return guarded;
}
