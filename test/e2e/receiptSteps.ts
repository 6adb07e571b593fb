import { generateKeyPairSync } from 'crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'fs';
import { join } from 'path';

import { ACK } from '../harness/exactlyOnce';
import { activateArgs } from '../harness/n8n';
import { decodeQr } from '../helpers/qr';
import { parseEmvPayload } from '../../nodes/protocol';
import {
	CHAT_ORDER_PATH,
	exampleWorkflows,
	onceOnlyWorkflow,
	REFUND_QUEUE_COLUMNS,
	WORKFLOW_IDS,
} from '../harness/workflows';
import {
	createExampleTables,
	timed,
	webhookServed,
	type E2eContext,
	type Tables,
	type TableRef,
} from './context';
import { assert, step, waitFor } from './steps';

/** What the receipt steps leave for later ones. */
export interface Receipts {
	/** The order the payment link was made for, paid by PromptPay (150.50 THB); '' if that step failed. */
	orderNumber: string;
	/** Made while n8n ran: the example tables the watch steps use, and the refund queue's table. */
	tables: { example: Tables; refundQueue: TableRef };
}

/**
 * The receipt path as a new shop sets it up, in the regular-mode n8n: the credentials and
 * examples imported and published and a payment link made with `n8n execute` (n8n stopped);
 * then n8n started, and the payment paid: one receipt execution and one email, however often
 * Ksher notifies, and nothing for forged notifications; the credential test. Leaves n8n running;
 * returns nothing when the import failed (the regular-mode steps after it then cannot run).
 */
export async function receiptSteps(ctx: E2eContext): Promise<Receipts | undefined> {
	if (!(await importSteps(ctx))) return undefined;
	const orderNumber = await paymentLinkStep(ctx);
	await timed(ctx, `n8n ${ctx.line}.x start`, () => ctx.n8n.start());
	await ctx.rest.login();
	await ctx.rest.createApiKey();
	const tables = {
		example: await createExampleTables(ctx.rest),
		refundQueue: await ctx.rest.createDataTable(
			`Ksher refund queue ${Date.now()}`,
			REFUND_QUEUE_COLUMNS,
		),
	};
	await webhookServed('the trigger webhook to be registered', ctx.triggerUrl, 30_000);
	await paidSteps(ctx, orderNumber);
	await credentialStep(ctx);
	await chatQrStep(ctx);
	return { orderNumber, tables };
}

async function importSteps(ctx: E2eContext): Promise<boolean> {
	const { work, filesDir, triggerUrl, install, cli } = ctx;
	writeFileSync(join(work, 'credentials.json'), JSON.stringify(ctx.credentials));
	mkdirSync(join(work, 'workflows'));
	for (const wf of [
		...exampleWorkflows({ filesDir, triggerUrl, email: 'buyer@example.com' }),
		onceOnlyWorkflow(),
	])
		writeFileSync(join(work, 'workflows', `${wf.id}.json`), JSON.stringify(wf));

	return await step(
		'import credentials and example workflows, publish the receipt workflow',
		async () => {
			await cli(['import:credentials', `--input=${join(work, 'credentials.json')}`]);
			await cli(['import:workflow', '--separate', `--input=${join(work, 'workflows')}`]);
			await cli(activateArgs(install, WORKFLOW_IDS.receipt));
			await cli(activateArgs(install, WORKFLOW_IDS.onceOnly));
			await cli(activateArgs(install, WORKFLOW_IDS.chatQr));
			const types = await cli(['export:nodes', `--output=${join(work, 'nodes.json')}`]);
			const exported = JSON.parse(readFileSync(join(work, 'nodes.json'), 'utf8')) as Array<{
				name: string;
			}>;
			const names = exported.map((n) => n.name).filter((n) => n.startsWith('n8n-nodes-ksher.'));
			assert(
				names.includes('n8n-nodes-ksher.ksher') && names.includes('n8n-nodes-ksher.ksherTrigger'),
				`node types not loaded: ${names.join(', ')} ${types.stderr.slice(-300)}`,
			);
			return `node types ${names.join(', ')}`;
		},
	);
}

/** Returns the order number of the link ('' if the step failed). */
async function paymentLinkStep(ctx: E2eContext): Promise<string> {
	let orderNumber = '';
	await step('Create Payment through `n8n execute` returns a simulator checkout link', async () => {
		const output = await ctx.execute(WORKFLOW_IDS.paymentLink);
		const [item] = output('Create Payment');
		assert(
			item &&
				typeof item.paymentUrl === 'string' &&
				item.paymentUrl.startsWith(ctx.sim.info.checkoutUrl),
			`unexpected output ${JSON.stringify(item)}`,
		);
		orderNumber = String(item.orderNumber);
		const page = await (await fetch(String(item.paymentUrl))).text();
		assert(page.includes('150.50 THB'), 'the checkout page does not show the amount');
		return `${orderNumber} → ${String(item.paymentUrl)}`;
	});
	return orderNumber;
}

/** The order paid, its notification repeated, forged and tampered with. */
async function paidSteps(ctx: E2eContext, orderNumber: string): Promise<void> {
	const { sim, smtp, rest, control, triggerUrl } = ctx;
	await step(
		'paying calls the production webhook: exactly one receipt execution and one email',
		async () => {
			assert(orderNumber, 'no order from the previous step');
			await control('/pay', { mch_order_no: orderNumber, channel: 'promptpay' });
			const mail = await waitFor('the receipt email', () => smtp.mails[0]);
			assert(mail.text.includes(orderNumber), 'the email lacks the order number');
			assert(mail.text.includes('150.50 THB'), 'the email lacks the amount');
			assert(mail.to.includes('buyer@example.com'), `the email went to ${mail.to.join(', ')}`);
			const executions = await waitFor('the execution', async () => {
				const list = await rest.executions(WORKFLOW_IDS.receipt);
				return list.length ? list : undefined;
			});
			assert(
				executions.length === 1 && executions[0].status === 'success',
				`executions: ${JSON.stringify(executions.map((e) => e.status))}`,
			);
			const first = sim.deliveries.find((d) => d.mch_order_no === orderNumber);
			assert(
				first?.acknowledged && first.response === ACK,
				`Ksher got ${first?.status} ${first?.response}`,
			);
			return `email "${mail.subject}" to ${mail.to.join(', ')}`;
		},
	);

	await step(
		'5 re-deliveries of the notification: all acknowledged, no new execution or email',
		async () => {
			for (let i = 0; i < 5; i++) await control('/notify', { mch_order_no: orderNumber });
			await waitFor(
				'6 acknowledged deliveries',
				() =>
					sim.deliveries.filter((d) => d.mch_order_no === orderNumber && d.acknowledged).length >=
						6 || undefined,
				30_000,
			);
			await new Promise((r) => setTimeout(r, 3000));
			const attempts = sim.deliveries.filter((d) => d.mch_order_no === orderNumber);
			assert(
				attempts.every((a) => a.status === 200 && a.response === ACK),
				`answers: ${attempts.map((a) => `${a.status} ${a.response}`).join('; ')}`,
			);
			assert(smtp.mails.length === 1, `${smtp.mails.length} emails`);
			const executions = await rest.executions(WORKFLOW_IDS.receipt);
			assert(executions.length === 1, `${executions.length} executions`);
			return `${attempts.length} deliveries, 1 execution, 1 email`;
		},
	);

	await step('forged and tampered notifications get 401, no execution, no email', async () => {
		const genuine = JSON.parse(
			sim.deliveries.find((d) => d.mch_order_no === orderNumber)!.body,
		) as {
			data: Record<string, unknown>;
			sign: string;
		};
		const forged = {
			...genuine,
			sign: genuine.sign.replace(/^./, (c) => (c === 'a' ? 'b' : 'a')),
		};
		const tampered = {
			...genuine,
			data: { ...genuine.data, total_fee: 1, mch_order_no: `${orderNumber}-X` },
		};
		const answers = [];
		for (const body of [forged, tampered]) {
			const r = await fetch(triggerUrl, {
				method: 'POST',
				headers: { 'content-type': 'text/plain;charset=utf-8' },
				body: JSON.stringify(body),
			});
			answers.push(`${r.status} ${await r.text()}`);
			assert(r.status === 401, `answered ${r.status}`);
		}
		await new Promise((r) => setTimeout(r, 1500));
		assert(
			(await rest.executions(WORKFLOW_IDS.receipt)).length === 1,
			'a forged notification started an execution',
		);
		assert(smtp.mails.length === 1, 'a forged notification sent an email');
		return answers.join(' | ');
	});
}

async function credentialStep(ctx: E2eContext): Promise<void> {
	const { rest, credentials } = ctx;
	await step(
		'credential test: succeeds with the imported credential, fails clearly with a wrong key',
		async () => {
			const good = await rest.testCredential(credentials[0]);
			assert(good.status === 'OK', `good credential: ${good.message}`);
			const wrongKey = generateKeyPairSync('rsa', { modulusLength: 1024 })
				.privateKey.export({ type: 'pkcs1', format: 'pem' })
				.toString();
			const bad = await rest.testCredential({
				...credentials[0],
				data: { ...credentials[0].data, privateKey: wrongKey },
			});
			assert(
				bad.status === 'Error' && /rejected the signature/.test(bad.message),
				`wrong key: ${bad.status} ${bad.message}`,
			);
			assert(!bad.message.includes(wrongKey.split('\n')[1]), 'the message contains key material');
			return `OK: "${good.message}" / Error: "${bad.message.slice(0, 90)}…"`;
		},
	);
}

/** The PNG a mail carries (an attachment or an inline image), or undefined. */
function pngOf(raw: string): Buffer | undefined {
	const part =
		/Content-Type: image\/png[^\r\n]*\r?\n(?:[^\r\n]+\r?\n)*\r?\n([A-Za-z0-9+/=\r\n]+)/i.exec(raw);
	return part ? Buffer.from(part[1].replace(/\s+/g, ''), 'base64') : undefined;
}

/**
 * Sell in chat (#34), as the example ships: a chat order posted to its webhook → Create QR → the
 * customer's email with the QR (a PNG that decodes to a PromptPay payload for the amount); paid, the
 * receipt workflow (the same trigger as payment links) emails the customer once.
 */
async function chatQrStep(ctx: E2eContext): Promise<void> {
	const { smtp, control, n8n } = ctx;
	await step(
		'sell in chat: an order posted to the example gets a PromptPay QR by email (PNG → payload for its amount); paid, exactly one receipt',
		async () => {
			const orderNumber = `CHAT-${Date.now().toString(36)}`;
			const email = 'chat-buyer@example.com';
			const posted = await fetch(`${n8n.url}/webhook/${CHAT_ORDER_PATH}`, {
				method: 'POST',
				headers: { 'content-type': 'application/json' },
				body: JSON.stringify({ orderNumber, amount: '89.00', email }),
			});
			assert(posted.ok, `the chat order webhook answered ${posted.status}`);
			const ofOrder = (subject: string) =>
				smtp.mails.filter((m) => m.to.includes(email) && m.subject === `${subject} ${orderNumber}`);
			const qrMail = await waitFor('the QR email', () => ofOrder('Scan to pay order')[0]);
			const png = pngOf(qrMail.raw);
			assert(png, 'the QR email carries no PNG');
			const payload = decodeQr(png);
			const fields = payload ? parseEmvPayload(payload) : 'not decodable';
			assert(
				typeof fields !== 'string' && fields.get('54') === '89.00' && fields.get('53') === '764',
				`the QR decodes to ${String(payload)}`,
			);
			assert(/cid:qr/.test(qrMail.raw), 'the email does not show the QR in its text');
			await control('/pay', { mch_order_no: orderNumber });
			await waitFor('the receipt', () => ofOrder('Receipt for order')[0]);
			// Ksher's retries of the notification (if any) and a moment more: still one.
			await new Promise((resolve) => setTimeout(resolve, 3000));
			const receipts = ofOrder('Receipt for order');
			assert(receipts.length === 1, `${receipts.length} receipts for ${orderNumber}`);
			assert(receipts[0].text.includes('89.00 THB'), 'the receipt lacks the amount');
			return `"${qrMail.subject}" with a ${png.length}-byte PNG (PromptPay, 54=89.00); 1 receipt`;
		},
	);
}
