import { mkdirSync, rmSync, writeFileSync } from 'fs';
import { join } from 'path';

import type { Simulator } from '../simulator/server';
import { refundSheetSteps } from './refundSteps';
import { assert, step } from './steps';
import { operationWorkflow } from './workflows';

type Output = (node: string) => Array<Record<string, unknown>>;

/**
 * Workflows run with `n8n execute` (n8n stopped): the refund spreadsheet (refundSteps.ts), then Get Payment,
 * Get Many refunds and Cancel on the orders earlier steps made.
 */
export async function executeSteps(ctx: {
	sim: Simulator;
	work: string;
	filesDir: string;
	/** The order the receipt steps paid (PromptPay, 150.50 THB). */
	orderNumber: string;
	cli: (args: string[]) => Promise<unknown>;
	execute: (id: string) => Promise<Output>;
	control: (path: string, body: unknown) => Promise<unknown>;
	unpaidOrder: (no: string) => Promise<string>;
}): Promise<void> {
	const { work, filesDir, execute, control, unpaidOrder, orderNumber } = ctx;
	const sim = ctx.sim;
	const cliOk = ctx.cli;
	const ops = [
		operationWorkflow('ksherE2eGetPay01', 'e2e: get payment', { resource: 'payment', operation: 'get', orderNumber: '' }),
		operationWorkflow('ksherE2eRefunds1', 'e2e: get many refunds', { resource: 'refund', operation: 'getAll', orderNumber: '' }),
		operationWorkflow('ksherE2eCancel01', 'e2e: cancel payment', { resource: 'payment', operation: 'cancel', orderNumber: '' }),
	];

	const fullyRefunded = await refundSheetSteps({ sim, filesDir, execute, control, unpaidOrder });

	await step('Get Payment, Get Many refunds and Cancel through `n8n execute`', async () => {
		assert(orderNumber && fullyRefunded, 'earlier steps did not produce the orders to look at');
		const paidNo = orderNumber;
		const cancelNo = await unpaidOrder(`CANCEL-${Date.now()}`);
		ops[0].nodes[1].parameters.orderNumber = paidNo;
		ops[1].nodes[1].parameters.orderNumber = fullyRefunded;
		ops[2].nodes[1].parameters.orderNumber = cancelNo;
		rmSync(join(work, 'ops'), { recursive: true, force: true });
		mkdirSync(join(work, 'ops'));
		for (const wf of ops) writeFileSync(join(work, 'ops', `${wf.id}.json`), JSON.stringify(wf));
		await cliOk(['import:workflow', '--separate', `--input=${join(work, 'ops')}`]);
		const [get] = (await execute(ops[0].id))('Ksher');
		assert(get?.status === 'paid' && get.orderNumber === paidNo && get.amount === '150.50' && get.channel === 'promptpay', `get: ${JSON.stringify(get)}`);
		const refunds = (await execute(ops[1].id))('Ksher');
		assert(refunds.length === 1 && refunds[0].refundAmount === '100.00' && refunds[0].status === 'refunded', `get many: ${JSON.stringify(refunds)}`);
		const [cancel] = (await execute(ops[2].id))('Ksher');
		assert(cancel?.cancelled === true && sim!.order(cancelNo)?.cancelled === true, `cancel: ${JSON.stringify(cancel)}`);
		return `get: ${String(get.status)}, refunds: ${refunds.length}, cancelled: ${cancelNo}`;
	});
}
