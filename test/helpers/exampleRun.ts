import type { IDataObject, INode } from 'n8n-workflow';

import { runKsherNode } from './n8n';
import { simulatorCredentials } from './node';
import type { SimulatorHarness } from './simulator';

/**
 * One example workflow as tests walk it without n8n: its IF, Set and text parameters evaluated as
 * n8n expressions over `$json` and the named nodes' outputs (`$('Node').all()`, `.item`, `.first()`,
 * `$itemIndex`, `$now`), and its Ksher nodes run with their own parameters in n8n's engine against
 * the simulator. The e2e runs the whole workflows in a real n8n.
 */
type Node = { name: string; type: string; typeVersion: number; parameters: IDataObject };
export type Outputs = Record<string, IDataObject[]>;

export function exampleRun(example: unknown, harness: () => SimulatorHarness) {
	const nodes = (example as { nodes: Node[] }).nodes;
	const node = (name: string) => nodes.find((n) => n.name === name)!;

	function evaluate(
		expression: string,
		json: IDataObject,
		outputs: Outputs,
		itemIndex = 0,
	): unknown {
		const $ = (name: string) => {
			if (!outputs[name]) throw new Error(`the expression reads ${name}, which has not run`);
			return {
				all: () => outputs[name].map((j) => ({ json: j })),
				first: () => ({ json: outputs[name][0] }),
				item: { json: outputs[name][itemIndex] },
			};
		};
		// n8n's $now (Luxon), as far as the examples use it: the time a refund without Ksher's own is recorded at.
		const $now = { setZone: () => ({ toISO: () => new Date().toISOString() }) };
		const run = (code: string) =>
			(
				new Function('$json', '$', '$itemIndex', '$now', `return (${code});`) as (
					j: IDataObject,
					d: typeof $,
					i: number,
					n: typeof $now,
				) => unknown
			)(json, $, itemIndex, $now);
		const text = expression.replace(/^=/, '');
		const whole = /^\{\{([\s\S]*?)\}\}$/.exec(text);
		if (whole && !whole[1].includes('}}')) return run(whole[1]);
		return text.replace(/\{\{([\s\S]*?)\}\}/g, (_m, code: string) => String(run(code)));
	}

	return {
		node,
		evaluate,
		/** Where an IF or Filter node sends the item: its single condition's left value, evaluated. */
		ifTrue: (name: string, outputs: Outputs, json: IDataObject = {}) =>
			evaluate(
				String(
					(node(name).parameters.conditions as { conditions: Array<{ leftValue: string }> })
						.conditions[0].leftValue,
				),
				json,
				outputs,
			) === true,
		/** A Set node's fields, evaluated. */
		setFields: (name: string, outputs: Outputs, json: IDataObject = {}, itemIndex = 0) =>
			Object.fromEntries<unknown>(
				(
					node(name).parameters.assignments as {
						assignments: Array<{ name: string; value: string }>;
					}
				).assignments.map((a) => [a.name, evaluate(a.value, json, outputs, itemIndex)]),
			) as IDataObject,
		/** A text parameter (an email's subject, a Stop and Error's message), evaluated. */
		text: (name: string, field: string, outputs: Outputs, json: IDataObject = {}) =>
			String(evaluate(String(node(name).parameters[field]), json, outputs)),
		/** One of the example's Ksher nodes on these items (Continue On Fail): must finish, gives its items. */
		runNode: async (name: string, items: IDataObject[]) => {
			const n = node(name);
			const run = await runKsherNode({
				credentials: simulatorCredentials(harness()) as never,
				parameters: n.parameters as INode['parameters'],
				typeVersion: n.typeVersion,
				items,
				continueOnFail: true,
			});
			expect(run.status).toBe('success');
			return run.items;
		},
	};
}
