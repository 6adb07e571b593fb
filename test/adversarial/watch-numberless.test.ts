import type { IDataObject } from 'n8n-workflow';

import approvalExample from '../../examples/refund-with-approval.json';
import queueExample from '../../examples/refund-queue-data-table.json';
import watchExample from '../../examples/watch-orders-email-refunds.json';

/**
 * An attack on the watch's numberless-refund paths (PromptPay/Alipay fully refunded; #32), modelled as n8n runs them:
 * Data Table Row (Not) Exists / Update / Upsert filters are equalities, executionOrder v1 runs the branches of
 * "Has Refund Number?" one after the other, top first (No Refund Recorded, then Customer Not Told Of Any Refund).
 *
 * KNOWN GAPS, open (`it.failing`: each passes while the gap is there and fails once it is closed, which is
 * when it becomes an ordinary test): two workflows refunding parts of one PromptPay order (the approval's
 * told, the queue's not) leave the queue's part untold; a watch run between a queue's or an approval's
 * refund at Ksher and its record counts the refund twice in the books. The README lists both.
 */
type Node = { name: string; position: number[]; parameters: IDataObject };
const nodeOf = (example: unknown, name: string) =>
	(example as { nodes: Node[] }).nodes.find((n) => n.name === name)!;
const conditions = (example: unknown, node: string) =>
	(
		nodeOf(example, node).parameters.filters as {
			conditions: Array<{ keyName: string; keyValue: string }>;
		}
	).conditions;
/** keyValue expressions of these nodes only read $json.x or $('Refund Row').item.json.x: both the refund row here. */
const value = (expr: string, json: IDataObject) => {
	const m = /json\.(\w+)/.exec(expr);
	return m ? String(json[m[1]] ?? '') : expr;
};
const matching = (example: unknown, node: string, rows: IDataObject[], json: IDataObject) =>
	rows.filter((r) =>
		conditions(example, node).every((c) => String(r[c.keyName] ?? '') === value(c.keyValue, json)),
	);

/** The watch's numberless branch over the Ksher refunds rows; returns the emails sent. */
function watchNumberless(rows: IDataObject[], orderNumber: string, amount: string): number {
	const refundRow: IDataObject = {
		orderNumber,
		refundNumber: '',
		refundAmount: amount,
		customerTold: 'yes',
	};
	const upsert = (example: unknown, row: IDataObject) => {
		const found = matching(example, 'Record Refund', rows, row);
		if (found.length) for (const r of found) Object.assign(r, row);
		else rows.push({ ...row });
	};
	let emails = 0;
	const branches = ['No Refund Recorded', 'Customer Not Told Of Any Refund'].sort(
		(a, b) => nodeOf(watchExample, a).position[1] - nodeOf(watchExample, b).position[1],
	);
	for (const branch of branches) {
		if (branch === 'No Refund Recorded') {
			if (matching(watchExample, branch, rows, refundRow).length === 0) {
				upsert(watchExample, refundRow);
				emails++;
			}
		} else if (
			matching(watchExample, branch, rows, refundRow).length === 0 &&
			matching(watchExample, 'But One Is Recorded', rows, refundRow).length > 0
		) {
			emails++;
			for (const r of matching(watchExample, 'Mark Customer Told', rows, refundRow))
				r.customerTold = 'yes';
		}
	}
	return emails;
}
const approvalRow = (orderNumber: string, refundNumber: string, refundAmount: string) => {
	// refund-with-approval's Refund Row: customerTold = yes (its own email follows)
	const told = (
		nodeOf(approvalExample, 'Refund Row').parameters.assignments as {
			assignments: Array<{ name: string; value: string }>;
		}
	).assignments.find((a) => a.name === 'customerTold')?.value;
	return { orderNumber, refundNumber, refundAmount, customerTold: told ?? null };
};
const queueRow = (orderNumber: string, refundNumber: string, refundAmount: string) => {
	const names = (
		nodeOf(queueExample, 'Refund Row').parameters.assignments as {
			assignments: Array<{ name: string }>;
		}
	).assignments.map((a) => a.name);
	return {
		orderNumber,
		refundNumber,
		refundAmount,
		customerTold: names.includes('customerTold') ? 'yes' : null,
	};
};
const total = (rows: IDataObject[], order: string) =>
	rows.filter((r) => r.orderNumber === order).reduce((s, r) => s + Number(r.refundAmount), 0);

it.failing(
	'PromptPay 100.00: approval refunds 40.00 (told), the queue refunds the other 60.00 (not told): the customer must hear of the 60.00',
	() => {
		const rows: IDataObject[] = [
			approvalRow('INV-1', 'R1', '40.00'),
			queueRow('INV-1', 'R2', '60.00'),
		];
		const emails = watchNumberless(rows, 'INV-1', '100.00');
		expect({ emails, queueRowTold: rows[1].customerTold }).toEqual({
			emails: 1,
			queueRowTold: 'yes',
		});
	},
);

it.failing(
	'PromptPay 100.00: the queue refunds 40.00 (not told), the approval the other 60.00 (told, "we have refunded 60.00"): the 40.00 must reach the customer',
	() => {
		const rows: IDataObject[] = [
			queueRow('INV-2', 'R1', '40.00'),
			approvalRow('INV-2', 'R2', '60.00'),
		];
		const emails = watchNumberless(rows, 'INV-2', '100.00');
		expect({ emails, queueRowTold: rows[0].customerTold }).toEqual({
			emails: 1,
			queueRowTold: 'yes',
		});
	},
);

it.failing(
	'the watch runs while the queue is between Refund (made at Ksher) and Record Refund: the books must not hold the refund twice',
	() => {
		const rows: IDataObject[] = [];
		const emails = watchNumberless(rows, 'INV-3', '100.00'); // queue refunded at Ksher, not recorded yet
		// then the queue's Record Refund (upsert on orderNumber + its refund number)
		const q = queueRow('INV-3', 'Q-77', '100.00');
		const found = matching(queueExample, 'Record Refund', rows, q);
		if (found.length) Object.assign(found[0], q);
		else rows.push(q);
		expect({ emails, recorded: total(rows, 'INV-3'), rows: rows.length }).toEqual({
			emails: 1,
			recorded: 100,
			rows: 1,
		});
	},
);

it.failing(
	'the same with the approval workflow: the customer must get one refund email, not two',
	() => {
		const rows: IDataObject[] = [];
		const watchEmails = watchNumberless(rows, 'INV-4', '100.00'); // approval refunded at Ksher, not recorded yet
		const a = approvalRow('INV-4', 'A-1', '100.00');
		const found = matching(approvalExample, 'Record Refund', rows, a);
		if (found.length) Object.assign(found[0], a);
		else rows.push(a);
		const approvalEmails = 1; // Record Refund → Tell the Customer, unconditionally
		expect({ emails: watchEmails + approvalEmails, recorded: total(rows, 'INV-4') }).toEqual({
			emails: 1,
			recorded: 100,
		});
	},
);

it('control: a full queue refund recorded before the watch: one email, one row, marked told (passes today)', () => {
	const rows: IDataObject[] = [queueRow('INV-5', 'Q-1', '100.00')];
	expect(watchNumberless(rows, 'INV-5', '100.00')).toBe(1);
	expect(rows).toEqual([expect.objectContaining({ customerTold: 'yes', refundAmount: '100.00' })]);
	// the same event seen again by an overlapping run: nothing
	expect(watchNumberless(rows, 'INV-5', '100.00')).toBe(0);
});
