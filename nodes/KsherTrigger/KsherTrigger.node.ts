import type { KeyObject } from 'crypto';

import {
	NodeConnectionTypes,
	type ICredentialDataDecryptedObject,
	type IDataObject,
	type IHookFunctions,
	type INodeProperties,
	type INodeType,
	type INodeTypeDescription,
	type IWebhookFunctions,
	type IWebhookResponseData,
} from 'n8n-workflow';

import {
	checkNotification,
	confirmedByKsher,
	initialWatchState,
	NOTIFICATION_ACK,
	TIMEOUTS,
	type NotificationCheck,
	type NotificationEvent,
} from '../protocol';
import { clientFromCredentials, readCredentials, verificationKey } from '../adapters/credentials';
import { eventItem } from '../adapters/format';
import { testKsherCredentials } from '../adapters/credentialTest';
import { n8nTransport } from '../adapters/transport';
import { docsUrl, KSHER_ICON, PACKAGE_DESCRIPTION } from '../adapters/descriptions';
import { admit, type Answer } from './admission';
import {
	ANSWER_AFTER_CLOSE_WAIT_MS,
	answerHandedOver,
	keepMarkedUntilAnswered,
	whenAnswered,
} from './answer';
import {
	ledgerFor,
	type Claim,
	type ClaimState,
	type NotificationLedger,
	type StoredMemory,
} from './ledger';

/** Ksher delivers again 10 minutes and then an hour apart: a lost run is run again within about an hour. */
const DEFAULT_GIVE_UP_MINUTES = 10;

function runGiveUpMinutes(options: IDataObject): number {
	const minutes = Number(options.giveUpAfterMinutes ?? DEFAULT_GIVE_UP_MINUTES);
	return Number.isFinite(minutes) && minutes > 0 ? minutes : DEFAULT_GIVE_UP_MINUTES;
}

/** When watching for refunds starts: Ksher's payment time, or now when it sent none. */
function paidSince(paidAt: unknown): Date {
	const time = typeof paidAt === 'string' ? Date.parse(paidAt) : NaN;
	return Number.isNaN(time) ? new Date() : new Date(time);
}

function outputItem(
	event: NotificationEvent,
	data: Record<string, unknown>,
	dedupeKey: string,
	possibleDuplicate: boolean,
): IDataObject {
	const refund =
		event === 'refunded'
			? { number: data.mch_refund_no, fee: data.refund_fee, time: data.refund_time }
			: undefined;
	const item = eventItem(event, String(data.mch_order_no ?? ''), data, refund, dedupeKey);
	if (event === 'other') item.result = String(data.result ?? '');
	// A run for this notification started before and nobody saw it end (n8n was stopped or killed,
	// or another process has it): this run may repeat what that one did.
	if (possibleDuplicate) item.possibleDuplicate = true;
	// Stored with the order, it lets Payment → Watch for Changes report the refunds without reporting this payment again.
	if (event === 'paid') item.watchState = initialWatchState('paid', paidSince(item.paidAt));
	item.raw = data as IDataObject;
	return item;
}

/** When Ksher gets its acknowledgement (the trigger's Acknowledge parameter). */
export type AcknowledgeWhen = 'finished' | 'stored';

/**
 * n8n's answer to Ksher, by Acknowledge: "stored" answers (onReceived) once the execution is
 * stored, with the acknowledgement as its body; "finished" answers (lastNode) once the run has
 * finished, with no data, which the trigger turns into the acknowledgement (answerOnlyWithAcknowledgement).
 * The fields are expressions for n8n's editor and 1.x; n8n 2.41 resolves them natively from the
 * parameters with the resolvers under its registered symbol, without its expression engine.
 */
const ACKNOWLEDGING_WEBHOOK = {
	name: 'default',
	httpMethod: 'POST',
	path: 'webhook',
	responseMode: '={{$parameter["acknowledge"] === "finished" ? "lastNode" : "onReceived"}}',
	responseData: `={{$parameter["acknowledge"] === "finished" ? "noData" : ${JSON.stringify(NOTIFICATION_ACK)}}}`,
} as const;
Object.assign(ACKNOWLEDGING_WEBHOOK, {
	[Symbol.for('n8n.webhookDescriptionResolvers')]: {
		responseMode: {
			template: ACKNOWLEDGING_WEBHOOK.responseMode,
			resolve: (p: IDataObject) => (p.acknowledge === 'finished' ? 'lastNode' : 'onReceived'),
		},
		responseData: {
			template: ACKNOWLEDGING_WEBHOOK.responseData,
			resolve: (p: IDataObject) => (p.acknowledge === 'finished' ? 'noData' : NOTIFICATION_ACK),
		},
	},
});

function acknowledgeField(version: number, fallback: AcknowledgeWhen): INodeProperties {
	return {
		displayName: 'Acknowledge',
		name: 'acknowledge',
		type: 'options',
		noDataExpression: true,
		options: [
			{
				name: 'When the Workflow Has Finished',
				value: 'finished',
				description:
					'Ksher waits for the whole run. A run cut short (n8n stopped or killed, a failed step) is not acknowledged, so Ksher delivers the payment again and it runs again, marked possibleDuplicate.',
			},
			{
				name: 'When the Run Is Stored',
				value: 'stored',
				description:
					'Ksher gets its answer as soon as n8n has stored the run. A run cut short by a crash stays under Executions (crashed) and is not run again.',
			},
		],
		default: fallback,
		description: 'When Ksher is told the notification arrived (until then it keeps delivering it)',
		displayOptions: { show: { '@version': [version] } },
	};
}

/**
 * With Acknowledge "When the Workflow Has Finished", n8n answers once the run has finished: with
 * no data when it went well (a 2xx), an error otherwise. Ksher accepts only its exact
 * acknowledgement, which n8n cannot send as a static body in that mode, so the trigger makes that
 * answer of this request the acknowledgement; anything else goes out as n8n sends it, not acknowledged.
 * A 2xx that carries data is not a finished run: n8n's code answers 200 "Workflow executed successfully but
 * no data was returned" when the execution ended without run data, as one it stored as failed before it
 * started does (WorkflowRunner.run's failed credential check; under load n8n 2.41 answered those 500 in the
 * e2e, but its code can answer 200), so that one goes out as a 500 and Ksher delivers again.
 */
function answerOnlyWithAcknowledgement(
	res: {
		statusCode?: number;
		setHeader?: (name: string, value: string) => unknown;
		send?: (body?: unknown) => unknown;
		json?: (body?: unknown) => unknown;
	},
	answered: (ok: boolean) => void,
): void {
	const send = res.send?.bind(res);
	const json = res.json?.bind(res);
	if (!send || !json) return;
	let told = false;
	// n8n hands its answer over when the run has ended, even if Ksher has closed the connection meanwhile.
	// (Express's json() calls send(): only the first hand-over decides.)
	const handOver = (original: (body?: unknown) => unknown, body?: unknown) => {
		if (told) return original(body);
		told = true;
		const status = res.statusCode ?? 200;
		const finished = status >= 200 && status < 300 && (body === undefined || body === '');
		answered(finished);
		if (!finished) {
			if (status < 300) res.statusCode = 500;
			return original(body);
		}
		res.setHeader?.('content-type', 'application/json; charset=utf-8');
		return send(NOTIFICATION_ACK);
	};
	res.send = (body?: unknown) => handOver(send, body);
	res.json = (body?: unknown) => handOver(json, body);
}

const ANY_EVENT = {
	name: 'Any Verified Notification',
	value: 'any',
	description: 'Every notification with a valid Ksher signature, whatever its result',
};
const PAID_EVENT = {
	name: 'Payment Paid',
	value: 'paid',
	description: 'A customer paid (Ksher result SUCCESS)',
};

/**
 * The events a trigger of `version` offers. Ksher notifies successful payments only, so version 2
 * does not offer "Payment Refunded" (n8n's node search would list it as an event that comes):
 * refunds come from Payment → Watch for Changes. Version 1 keeps it, as saved workflows have it,
 * and a refund notification (result REFUND) still reaches "Any Verified Notification".
 */
function eventsField(version: 1 | 2): INodeProperties {
	const field = {
		displayName: 'Events',
		name: 'events',
		type: 'multiOptions' as const,
		required: true,
		displayOptions: { show: { '@version': [version] } },
	};
	if (version === 2) return { ...field, options: [ANY_EVENT, PAID_EVENT], default: ['paid'] };
	return {
		...field,
		options: [
			ANY_EVENT,
			PAID_EVENT,
			{
				name: 'Payment Refunded',
				value: 'refunded',
				description:
					"Ksher does not send refund notifications today (it notifies successful payments only): use the Ksher node's Payment → Watch for Changes for refunds. Handled in case Ksher sends one (result REFUND).",
			},
		],
		default: ['paid', 'refunded'],
	};
}

export class KsherTrigger implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Ksher Trigger',
		name: 'ksherTrigger',
		icon: KSHER_ICON,
		group: ['trigger'],
		// 2: Acknowledge defaults to "When the Workflow Has Finished", so that a run cut short by a
		// crash is delivered again by Ksher. Triggers saved with 1 keep acknowledging on storing.
		version: [1, 2],
		defaultVersion: 2,
		documentationUrl: docsUrl('ksher-trigger'),
		// The events as the editor names them ("Payment Paid"), not their raw values.
		subtitle:
			'={{ $parameter["events"].map((e) => ({ any: "Any Verified Notification", paid: "Payment Paid", refunded: "Payment Refunded" })[e] || e).join(", ") }}',
		description: PACKAGE_DESCRIPTION,
		defaults: { name: 'Ksher Trigger' },
		inputs: [],
		outputs: [NodeConnectionTypes.Main],
		credentials: [{ name: 'ksherApi', required: true, testedBy: 'ksherApiTest' }],
		webhooks: [ACKNOWLEDGING_WEBHOOK],
		properties: [
			{
				displayName:
					'Copy the Production URL above into Create Payment\'s Notify URL: Ksher takes the notify URL with each payment. The workflow must be active (published) for Ksher\'s calls to reach it. Ksher notifies successful payments only; refunds, and payments Ksher did not notify, come from the Ksher node\'s Payment → Watch for Changes on a schedule. <a href="https://github.com/n8n-nodes-ksher/n8n-nodes-ksher#ksher-trigger" target="_blank">How the trigger works</a>',
				name: 'setupNotice',
				type: 'notice',
				default: '',
			},
			acknowledgeField(2, 'finished'),
			acknowledgeField(1, 'stored'),
			// Version 2 first: n8n's node search lists the first Events property's options as trigger events.
			eventsField(2),
			eventsField(1),
			{
				displayName: 'Options',
				name: 'options',
				type: 'collection',
				placeholder: 'Add Option',
				default: {},
				options: [
					{
						displayName: 'Give Up on a Run After (Minutes)',
						name: 'giveUpAfterMinutes',
						type: 'number',
						typeOptions: { minValue: 0.1, numberPrecision: 1 },
						default: DEFAULT_GIVE_UP_MINUTES,
						displayOptions: { show: { '/acknowledge': ['finished'] } },
						description:
							"If n8n has not reported the end of a run after this long (its execution stuck after a database or Redis outage), Ksher's next delivery runs the workflow again, marked possibleDuplicate. Set it above your workflow's longest run, counting the time a run can wait in queue mode's queue.",
					},
					{
						displayName: 'Confirm With Ksher',
						name: 'confirmWithKsher',
						type: 'boolean',
						default: false,
						description:
							"Whether to ask Ksher for the order's state before starting the workflow. If Ksher cannot be asked, or does not confirm yet, the notification is not acknowledged and Ksher sends it again later.",
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

	/** Verify, admit, run, answer: each step says what to answer Ksher, or hands on. */
	async webhook(this: IWebhookFunctions): Promise<IWebhookResponseData> {
		const res = this.getResponseObject();
		const verified = await verify(this);
		if (!verified.ok) return answer(res, verified.answer);
		const { check } = verified;
		// Genuine, so Ksher must stop retrying, but an event not asked for starts no run.
		const events = this.getNodeParameter('events', []) as string[];
		if (!events.includes('any') && !events.includes(check.event)) return answer(res, 'acknowledge');
		const workflowId = this.getWorkflow().id;
		const ledger = ledgerFor(workflowId, this.getNode().id);
		const stored = this.getWorkflowStaticData('node') as StoredMemory;
		const acknowledge = this.getNodeParameter('acknowledge', 'stored') as AcknowledgeWhen;
		const options = this.getNodeParameter('options', {}) as IDataObject;
		// A run whose end n8n never reports (its execution stuck "running" after a database outage,
		// a job lost with Redis) is given up on after this long, and Ksher's next delivery runs it again.
		const giveUpAfterMs =
			acknowledge === 'finished' ? runGiveUpMinutes(options) * 60_000 : Infinity;
		// Claimed by admission with no await after its last check; remembered until the notification's
		// own time has left the window too, however far ahead of this clock that is.
		const admission = await admit(
			check,
			ledger,
			stored,
			(message, meta) => this.logger.warn(message, { workflowId, ...meta }),
			(datedAt) => ledger.claim(check.dedupeKey, giveUpAfterMs, datedAt),
		);
		if (!admission.admitted) return answer(res, admission.answer);
		return await startRun(this, res, verified, ledger, stored, admission.claim, {
			before: admission.before,
			acknowledge,
			options,
		});
	}
}

type Verified =
	| {
			ok: true;
			check: Extract<NotificationCheck, { ok: true }>;
			credentialData: ICredentialDataDecryptedObject;
	  }
	| { ok: false; answer: Answer };
type Response = ReturnType<IWebhookFunctions['getResponseObject']>;

/** Sends a refusal itself (n8n would wrap it), or lets n8n send the acknowledgement. */
function answer(res: Response, reply: Answer): IWebhookResponseData {
	if (reply === 'acknowledge')
		return { webhookResponse: JSON.parse(NOTIFICATION_ACK) as IDataObject };
	res.status(reply.status);
	res.setHeader('content-type', 'application/json; charset=utf-8');
	res.end(JSON.stringify({ result: 'FAIL', msg: reply.reason }));
	return { noWebhookResponse: true };
}

/** The credential's key, then the notification's signature, form and merchant. */
async function verify(ctx: IWebhookFunctions): Promise<Verified> {
	const credentialData = await ctx.getCredentials('ksherApi');
	const credentials = readCredentials(credentialData);
	let publicKey: KeyObject;
	try {
		publicKey = verificationKey(credentials);
	} catch (error) {
		// A broken Ksher Public Key in the credential: nothing can be verified. Not acknowledging
		// makes Ksher deliver again later, after the credential is fixed.
		return {
			ok: false,
			answer: { status: 500, reason: `trigger misconfigured: ${(error as Error).message}` },
		};
	}
	const raw = (ctx.getRequestObject() as { rawBody?: Buffer | string }).rawBody;
	const check = checkNotification(raw, { publicKey, appId: credentials.appId });
	return check.ok
		? { ok: true, check, credentialData }
		: { ok: false, answer: { status: check.status, reason: check.reason } };
}

/**
 * The claimed notification (admission claims it with no await after its last check, so no other
 * request in this process can claim it in between): optionally confirmed with Ksher, then handed
 * to n8n as the run's item.
 */
async function startRun(
	ctx: IWebhookFunctions,
	res: Response,
	verified: Extract<Verified, { ok: true }>,
	ledger: NotificationLedger,
	stored: StoredMemory,
	claim: Claim,
	run: { before: ClaimState | undefined; acknowledge: AcknowledgeWhen; options: IDataObject },
): Promise<IWebhookResponseData> {
	const { check, credentialData } = verified;
	const { acknowledge, options } = run;
	// n8n answers only after it has stored the execution (or, when acknowledging a finished
	// workflow, after the run) and saved the static data: a 200 means the run exists (on 2.x; 1.x answers
	// "When the Run Is Stored" while it stores the execution: docs/guarantees.md, n8n 1.x); a refusal
	// below gives the claim back, an error from n8n leaves it started. Once the run is handed to n8n with
	// "finished", n8n's answer settles the claim instead (answerOnlyWithAcknowledgement).
	let handedOver = false;
	// A connection that ended with no answer (0: Ksher stopped waiting, its 10 s timeout) says nothing of the
	// run: n8n goes on storing the execution, saves this request's copy (which writes the claim done) and then
	// hands its answer over to a closed connection. Taking the claim back at the close forgot a run that
	// happened (Ksher's next delivery ran it a second time, unflagged); leaving it started let every delivery
	// before n8n's save run it again, flagged (an n8n slower than Ksher's timeout ran 563 of 1,000 orders 2 to 6
	// times, docs/performance.md). So n8n's own answer settles the claim whenever it comes, whatever the
	// connection did (a copy admitted after waiting may find Ksher gone already), and copies wait for it; a
	// close with no answer only gives the claim a deadline (ANSWER_AFTER_CLOSE_WAIT_MS), past which the next
	// delivery leaves it started and runs it again, flagged.
	let settled = false;
	const settle = (outcome: Parameters<Claim['settle']>[0]) => {
		if (settled || handedOver) return;
		settled = true;
		claim.settle(outcome);
	};
	// An error from n8n once the run is in its hands does not prove there was no run: n8n 2.41 in queue mode answers
	// 500 "Workflow could not be started!" when a database write fails after it has queued the job, and a worker
	// then runs it (read in its enqueueExecution; a CI load step once ran an order twice). So the claim stays
	// started ('failed'): Ksher's next delivery runs it again, flagged possibleDuplicate, rather than as new.
	const answerOfN8n = run.acknowledge === 'stored' ? answerHandedOver(res) : undefined;
	void answerOfN8n?.then((stored) => settle(stored ? true : 'failed'));
	whenAnswered(res, (status) => {
		if (status !== 0 || !answerOfN8n) {
			settle(status === 200 ? true : status === 0 ? 'unanswered' : answerOfN8n ? 'failed' : false);
			return;
		}
		// No answer from n8n within ANSWER_AFTER_CLOSE_WAIT_MS: the next copy leaves it started and runs it.
		if (!settled) claim.giveUpAt(Date.now() + ANSWER_AFTER_CLOSE_WAIT_MS, 'unanswered');
	});
	if (options.confirmWithKsher === true) {
		const client = clientFromCredentials(
			credentialData,
			n8nTransport(ctx.helpers),
			TIMEOUTS.triggerConfirmMs,
		);
		const confirmed = await confirmedByKsher(client, check.event, check.data).catch(
			() => undefined,
		);
		if (confirmed !== true) {
			settle(false);
			return answer(res, {
				status: confirmed === undefined ? 503 : 409,
				reason:
					confirmed === undefined
						? 'could not confirm with Ksher, retry later'
						: 'Ksher does not confirm this notification yet',
			});
		}
	}
	claim.record();
	// n8n saves this request's copy only after it stored the execution (when acknowledging on
	// storing) or after the run (when acknowledging a finished workflow, whose outcome that save
	// cannot know yet): so this copy writes the claim as done, or as started.
	const own = acknowledge === 'stored' ? check.dedupeKey : undefined;
	ledger.persistInto(stored, own);
	// As it starts the run, n8n 2.41 wraps this request's static data in a second Workflow
	// (WorkflowRunner.establishContextForPersistence), which clears its "changed" mark, so
	// the save before the answer would skip the claim. Marking it again after that, until
	// the answer, keeps the claim in that save.
	keepMarkedUntilAnswered(res, () => ledger.persistInto(stored, own));
	res.setHeader('content-type', 'application/json; charset=utf-8');
	const workflowData = [
		ctx.helpers.returnJsonArray([
			outputItem(check.event, check.data, check.dedupeKey, run.before === 'started'),
		]),
	];
	if (acknowledge === 'finished') {
		handedOver = true;
		// A run that failed (or whose answer went wrong) stays "started": Ksher's next delivery runs it again.
		answerOnlyWithAcknowledgement(res as never, (ok) => claim.settle(ok ? true : 'failed'));
		return { workflowData };
	}
	return { webhookResponse: JSON.parse(NOTIFICATION_ACK) as IDataObject, workflowData };
}
