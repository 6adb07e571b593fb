import { type IDataObject, type INodeProperties, updateDisplayOptions } from 'n8n-workflow';

import {
	canListRefunds,
	DEFAULT_WATCH_DAYS,
	formatWatchState,
	isWatched,
	KsherInputError,
	listRefunds,
	notificationKey,
	parseWatchState,
	refundTargetOf,
	watchChanges,
	type KsherRefund,
	type WatchChange,
} from '../../../protocol';
import { eventItem, ksherTimeToIso } from '../../../adapters/format';
import {
	orderNumberField,
	orderNumberParam,
	orderLookupParam,
	queryOrder,
	lookUpAsField,
	qrChannelField,
	type OperationRunner,
} from '../common';

const properties: INodeProperties[] = [
	orderNumberField('Your order number of the payment to watch.'),
	lookUpAsField(),
	qrChannelField('The QR Channel given to Create QR: Ksher looks QR payments up by channel', {
		field: 'lookUpAs',
		values: ['qr', 'either'],
	}),
	{
		displayName: 'Last Watch State',
		name: 'watchState',
		type: 'string',
		default: '',
		placeholder: 'e.g. {{ $json.watchState }}',
		description:
			'The "watchState" stored for this order: what this operation output last time, or what Create Payment or the Ksher Trigger output. Empty for an order never watched: then everything about it counts as new.',
	},
	{
		displayName: 'Watch For (Days)',
		name: 'watchDays',
		type: 'number',
		typeOptions: { minValue: 1, maxValue: 3650 },
		default: DEFAULT_WATCH_DAYS,
		description:
			'How long after it was paid (or first watched, while unpaid) an order is still checked. Older orders cost no calls to Ksher and give no items.',
	},
];

export const description = updateDisplayOptions(
	{ show: { resource: ['payment'], operation: ['watch'] } },
	properties,
);

/**
 * One output item per change (`paid`, `refunded`, `closed`), shaped like the Ksher Trigger's
 * items, each with the `watchState` to store once it is handled and the `previousWatchState`
 * it replaces (a compare-and-set key: see the README). An order without changes gives no items.
 * At most two calls per order: the order, and its refund list when it is paid and Ksher can list it.
 */
export const execute: OperationRunner = async (ctx, client, itemIndex) => {
	const orderNumber = orderNumberParam(ctx, itemIndex);
	const given = ctx.getNodeParameter('watchState', itemIndex, '') as unknown;
	const previous = parseWatchState(given);
	const days = ctx.getNodeParameter('watchDays', itemIndex, DEFAULT_WATCH_DAYS) as number;
	if (!(typeof days === 'number' && days >= 1)) {
		throw new KsherInputError(
			'Watch For (Days)',
			`Watch For (Days) must be a number of days, 1 or more; got ${JSON.stringify(days)}`,
			`Use e.g. ${DEFAULT_WATCH_DAYS}.`,
		);
	}
	const now = new Date();
	if (!isWatched(previous, now, days)) return [];

	const data = await queryOrder(client, orderNumber, orderLookupParam(ctx, itemIndex, true));
	const result = String(data.result ?? '');
	const paid = result === 'SUCCESS' || result === 'REFUND';
	const totalMinor = Number(data.total_fee);
	let refunds: KsherRefund[] | undefined;
	const target = refundTargetOf(data);
	if (paid && target && canListRefunds(String(data.channel ?? ''))) {
		// A Ksher refusal means it cannot list this order's refunds: the REFUND state is all there is then.
		refunds = await listRefunds(client, target);
	}
	const { changes } = watchChanges(
		previous,
		{ result, paidAt: ksherTimeToIso(data.time_end), totalMinor, refunds },
		now,
	);

	// Exactly what the row held (null stays null, "" stays ""), so that a compare-and-set on the
	// stored cell matches it: n8n's Data Table compares null as IS NULL and "" as = ''.
	let before: string | null =
		given === null || typeof given === 'string'
			? given
			: previous
				? formatWatchState(previous)
				: '';
	return changes.map((change) => {
		const item = changeItem(client.appId, orderNumber, data, change, before);
		before = String(item.watchState);
		return item;
	});
};

function changeItem(
	appId: string,
	orderNumber: string,
	data: Record<string, unknown>,
	change: WatchChange,
	previousWatchState: string | null,
): IDataObject {
	const { refund } = change;
	const refundNumber = refund?.mch_refund_no || null;
	const dedupeKey = notificationKey(
		{
			appid: appId,
			mch_order_no: orderNumber,
			mch_refund_no: refundNumber ?? refund?.ksher_refund_no,
		},
		change.event,
	);
	const item = eventItem(
		change.event,
		orderNumber,
		data,
		refund && { number: refundNumber, fee: refund.refund_fee, time: refund.refund_time },
		dedupeKey,
	);
	item.watchState = formatWatchState(change.stateAfter);
	item.previousWatchState = previousWatchState;
	return item;
}
