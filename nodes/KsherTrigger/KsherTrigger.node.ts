import type { KeyObject } from 'crypto';

import {
	NodeConnectionTypes,
	type IDataObject,
	type IHookFunctions,
	type INodeType,
	type INodeTypeDescription,
	type IWebhookFunctions,
	type IWebhookResponseData,
} from 'n8n-workflow';

import {
	checkNotification,
	initialWatchState,
	listRefunds,
	NOTIFICATION_ACK,
	refundTargetOf,
	TIMEOUTS,
	type KsherClient,
	type NotificationEvent,
} from '../protocol';
import { clientFromCredentials, readCredentials, verificationKey } from '../adapters/credentials';
import { ksherTimeToIso, majorAmount, orderFields } from '../adapters/format';
import { testKsherCredentials } from '../adapters/credentialTest';
import { n8nTransport } from '../adapters/transport';
import { PACKAGE_DESCRIPTION } from '../adapters/descriptions';
import { keepMarkedUntilAnswered, settledWithin, whenAnswered } from './answer';
import { ledgerFor, type StoredMemory } from './ledger';

type Reply = { status: number; body: string };

const rejected = (status: number, reason: string): Reply => ({ status, body: JSON.stringify({ result: 'FAIL', msg: reason }) });
/** Given to n8n, which sends it as JSON: exactly NOTIFICATION_ACK. */
const ACKNOWLEDGEMENT = JSON.parse(NOTIFICATION_ACK) as IDataObject;

/** How long a copy waits for another copy's outcome before asking Ksher to send it again. */
const IN_FLIGHT_WAIT_MS = 60_000;

/** When watching for refunds starts: Ksher's payment time, or now when it sent none. */
function paidSince(paidAt: unknown): Date {
	const time = typeof paidAt === 'string' ? Date.parse(paidAt) : NaN;
	return Number.isNaN(time) ? new Date() : new Date(time);
}

function outputItem(event: NotificationEvent, data: Record<string, unknown>, dedupeKey: string): IDataObject {
	const item: IDataObject = { event, orderNumber: String(data.mch_order_no ?? ''), ...orderFields(data) };
	if (event === 'refunded') {
		item.refundNumber = data.mch_refund_no ? String(data.mch_refund_no) : null;
		item.refundAmount = majorAmount(data.refund_fee, String(item.currency));
		item.refundedAt = ksherTimeToIso(data.refund_time);
	}
	if (event === 'other') item.result = String(data.result ?? '');
	item.dedupeKey = dedupeKey;
	// Stored with the order, it lets Payment → Watch for Changes report the refunds without reporting this payment again.
	if (event === 'paid') item.watchState = initialWatchState('paid', paidSince(item.paidAt));
	item.raw = data as IDataObject;
	return item;
}

/** Asks Ksher whether what the notification says is true. Undefined when Ksher could not be asked. */
async function confirmedByKsher(client: KsherClient, event: NotificationEvent, data: Record<string, unknown>): Promise<boolean | undefined> {
	const orderNumber = String(data.mch_order_no ?? '');
	const query = await client.call('gateway_order_query', { mch_order_no: orderNumber }).then(
		(r) => r.data,
		() => undefined,
	);
	if (!query) return undefined;
	if (String(query.total_fee) !== String(data.total_fee)) return false;
	const result = String(query.result ?? '');
	if (event === 'paid') return result === 'SUCCESS' || result === 'REFUND';
	if (event === 'refunded') {
		if (result === 'REFUND') return true;
		const refundNumber = String(data.mch_refund_no ?? '');
		const target = refundTargetOf(query);
		if (result !== 'SUCCESS' || !refundNumber || !target) return false;
		// The same rule as the Refund operations: no such refund → not confirmed; Ksher cannot list or cannot be asked → unknown.
		const refunds = await listRefunds(client, target, refundNumber).catch(() => undefined);
		return refunds === undefined ? undefined : refunds.some((r) => r.mch_refund_no === refundNumber);
	}
	return result === String(data.result ?? '');
}

export class KsherTrigger implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Ksher Trigger',
		name: 'ksherTrigger',
		icon: { light: 'file:../../icons/ksher.svg', dark: 'file:../../icons/ksher.dark.svg' },
		group: ['trigger'],
		version: 1,
		// The editor opens this as given; the codex link gets `?utm_source=…` appended after its #section, which breaks it.
		documentationUrl: 'https://github.com/n8n-nodes-ksher/n8n-nodes-ksher#ksher-trigger',
		// The events as the editor names them ("Payment Paid"), not their raw values.
		subtitle: '={{ $parameter["events"].map((e) => ({ any: "Any Verified Notification", paid: "Payment Paid", refunded: "Payment Refunded" })[e] || e).join(", ") }}',
		description: PACKAGE_DESCRIPTION,
		defaults: { name: 'Ksher Trigger' },
		inputs: [],
		outputs: [NodeConnectionTypes.Main],
		credentials: [{ name: 'ksherApi', required: true, testedBy: 'ksherApiTest' }],
		// onReceived: n8n answers once it has stored the execution the notification starts;
		// responseData is that answer's body (n8n's default would be the text "firstEntryJson").
		webhooks: [{ name: 'default', httpMethod: 'POST', responseMode: 'onReceived', responseData: NOTIFICATION_ACK, path: 'webhook' }],
		properties: [
			{
				displayName:
					'Copy the Production URL above into Create Payment\'s Notify URL: Ksher takes the notify URL with each payment. The workflow must be active (published) for Ksher\'s calls to reach it. Ksher notifies successful payments only; refunds, and payments Ksher did not notify, come from the Ksher node\'s Payment → Watch for Changes on a schedule. <a href="https://github.com/n8n-nodes-ksher/n8n-nodes-ksher#ksher-trigger" target="_blank">How the trigger works</a>',
				name: 'setupNotice',
				type: 'notice',
				default: '',
			},
			{
				displayName: 'Events',
				name: 'events',
				type: 'multiOptions',
				required: true,
				options: [
					{ name: 'Any Verified Notification', value: 'any', description: 'Every notification with a valid Ksher signature, whatever its result' },
					{ name: 'Payment Paid', value: 'paid', description: 'A customer paid (Ksher result SUCCESS)' },
					{
						name: 'Payment Refunded',
						value: 'refunded',
						description: 'Ksher does not send refund notifications today (it notifies successful payments only): use the Ksher node\'s Payment → Watch for Changes for refunds. Handled in case Ksher sends one (result REFUND).',
					},
				],
				default: ['paid', 'refunded'],
			},
			{
				displayName: 'Options',
				name: 'options',
				type: 'collection',
				placeholder: 'Add Option',
				default: {},
				options: [
					{
						displayName: 'Confirm With Ksher',
						name: 'confirmWithKsher',
						type: 'boolean',
						default: false,
						description:
							'Whether to ask Ksher for the order\'s state before starting the workflow. If Ksher cannot be asked, or does not confirm yet, the notification is not acknowledged and Ksher sends it again later.',
					},
				],
			},
		],
	};

	methods = { credentialTest: { ksherApiTest: testKsherCredentials } };

	// Ksher's notify URL is given per payment (Create Payment's Notify URL), so there is
	// nothing to register with Ksher when the workflow is activated.
	webhookMethods = {
		default: {
			async checkExists(this: IHookFunctions): Promise<boolean> {
				return true;
			},
			async create(this: IHookFunctions): Promise<boolean> {
				return true;
			},
			async delete(this: IHookFunctions): Promise<boolean> {
				return true;
			},
		},
	};

	async webhook(this: IWebhookFunctions): Promise<IWebhookResponseData> {
		const req = this.getRequestObject();
		const res = this.getResponseObject();
		const send = (reply: Reply) => {
			res.status(reply.status);
			res.setHeader('content-type', 'application/json; charset=utf-8');
			res.end(reply.body);
		};

		const credentialData = await this.getCredentials('ksherApi');
		const credentials = readCredentials(credentialData);
		let publicKey: KeyObject;
		try {
			publicKey = verificationKey(credentials);
		} catch (error) {
			// A broken Ksher Public Key in the credential: nothing can be verified. Not acknowledging
			// makes Ksher deliver again later, after the credential is fixed.
			send(rejected(500, `trigger misconfigured: ${(error as Error).message}`));
			return { noWebhookResponse: true };
		}
		const raw = (req as { rawBody?: Buffer | string }).rawBody;
		const check = checkNotification(raw, { publicKey, appId: credentials.appId });
		if (!check.ok) {
			send(rejected(check.status, check.reason));
			return { noWebhookResponse: true };
		}

		const events = this.getNodeParameter('events', []) as string[];
		if (!events.includes('any') && !events.includes(check.event)) {
			// Genuine, so Ksher must stop retrying, but this one starts no run.
			return { webhookResponse: ACKNOWLEDGEMENT };
		}

		const ledger = ledgerFor(this.getWorkflow().id, this.getNode().id);
		const stored = this.getWorkflowStaticData('node') as StoredMemory;
		if (ledger.absorb(stored)) ledger.persistInto(stored);
		const waitUntil = Date.now() + IN_FLIGHT_WAIT_MS;
		// Another copy of this notification is being handled: its outcome decides this one.
		for (let inFlight = ledger.inFlight(check.dedupeKey); inFlight; inFlight = ledger.inFlight(check.dedupeKey)) {
			const ran = await settledWithin(inFlight, waitUntil);
			if (ran === undefined) {
				send(rejected(503, 'another delivery of this notification is still being handled, retry later'));
				return { noWebhookResponse: true };
			}
		}
		if (ledger.has(check.dedupeKey)) return { webhookResponse: ACKNOWLEDGEMENT };

		// Claimed with no await since the checks above: no other request in this process
		// can claim it in between.
		const claim = ledger.claim(check.dedupeKey);
		// n8n answers only after it has stored the execution and saved the static data: a 200
		// means the run exists; anything else (a refusal below, an error) gives the claim back.
		whenAnswered(res, (status) => claim.settle(status === 200));
		const options = this.getNodeParameter('options', {}) as IDataObject;
		if (options.confirmWithKsher === true) {
			const client = clientFromCredentials(credentialData, n8nTransport(this.helpers), TIMEOUTS.triggerConfirmMs);
			const confirmed = await confirmedByKsher(client, check.event, check.data).catch(() => undefined);
			if (confirmed !== true) {
				claim.settle(false);
				send(rejected(confirmed === undefined ? 503 : 409, confirmed === undefined ? 'could not confirm with Ksher, retry later' : 'Ksher does not confirm this notification yet'));
				return { noWebhookResponse: true };
			}
		}
		claim.record();
		ledger.persistInto(stored);
		// As it starts the run, n8n 2.41 wraps this request's static data in a second Workflow
		// (WorkflowRunner.establishContextForPersistence), which clears its "changed" mark, so
		// the save before the answer would skip the claim. Marking it again after that, until
		// the answer, keeps the claim in that save.
		keepMarkedUntilAnswered(res, () => ledger.persistInto(stored));
		res.setHeader('content-type', 'application/json; charset=utf-8');
		return {
			webhookResponse: ACKNOWLEDGEMENT,
			workflowData: [this.helpers.returnJsonArray([outputItem(check.event, check.data, check.dedupeKey)])],
		};
	}
}
