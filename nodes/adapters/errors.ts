import { NodeApiError, NodeOperationError, type INode, type JsonObject } from 'n8n-workflow';

import { KsherApiError, KsherError, KsherInputError, KsherTransportError } from '../protocol';

/** n8n's " [item 0]" (counted from 0), unless the message names rows itself (counted from 1, as in a sheet). */
function itemSuffix(message: string, itemIndex?: number): string {
	if (itemIndex === undefined || /\(row \d+\)/.test(message)) return '';
	return ` [item ${itemIndex}]`;
}

/**
 * n8n marks an execution "canceled" instead of "failed" when an error message contains
 * that word (WorkflowExecute.processSuccessExecution), so Ksher's "has been canceled"
 * would hide a real failure. The other spelling keeps the meaning and the status right.
 */
function forN8n(message: string): string {
	return message.replace(
		/(cancel)(ed)/gi,
		(_word, stem: string, ending: string) => `${stem}${ending === 'ED' ? 'LED' : 'led'}`,
	);
}

/** "Create Payment failed: …" becomes "Create Payment failed for order INV-1: …": people think in their orders. */
function withOrder(message: string, orderNumber?: string | null): string {
	if (!orderNumber || message.includes(orderNumber)) return message;
	return message.replace(/^([^:]*? failed): /, `$1 for order ${orderNumber}: `);
}

function withField(error: KsherError): string {
	return error instanceof KsherInputError && !error.message.includes(error.field)
		? `${error.field}: ${error.message}`
		: error.message;
}

/** What Continue On Fail puts in the output item for a failed input. */
export function errorOutput(error: unknown, orderNumber?: string | null): JsonObject {
	if (error instanceof KsherError) {
		const out: JsonObject = {
			error: forN8n(withOrder(withField(error), orderNumber)),
			solution: error.solution,
		};
		if (error instanceof KsherApiError) out.code = error.code;
		if (error instanceof KsherInputError) out.field = error.field;
		if (error instanceof KsherTransportError) {
			out.code = `TRANSPORT_${error.failure.toUpperCase().replace(/-/g, '_')}`;
			out.mayHaveSucceeded = error.mayHaveSucceeded;
		}
		return out;
	}
	const n8nError = error as { message?: string; description?: string };
	return { error: forN8n(n8nError.message ?? String(error)), solution: n8nError.description ?? '' };
}

/**
 * Ksher's refusals and transport trouble become NodeApiError, our own validation and
 * key problems NodeOperationError; both name the item and carry the solution. The
 * original error is not passed on, so nothing can drag key material into the UI.
 */
/**
 * n8n replaces a NodeApiError message that mentions a common network error code (ECONNRESET, …)
 * with its own generic text (setDescriptiveErrorMessage), which drops what only ours says ("the
 * refund … may have happened"). The code stays in the message, written so n8n does not match it.
 */
function shieldCodes(message: string): string {
	return message.replace(
		/ECONNREFUSED|ECONNRESET|ENOTFOUND|ETIMEDOUT|ERRADDRINUSE|EADDRNOTAVAIL|ECONNABORTED|EHOSTUNREACH|EAI_AGAIN|ENOENT|EISDIR|ENOTDIR|EACCES|EEXIST|EPERM|GETADDRINFO/gi,
		(code) => `${code[0]}-${code.slice(1)}`,
	);
}

export function toNodeError(
	node: INode,
	error: unknown,
	itemIndex?: number,
	orderNumber?: string | null,
): NodeApiError | NodeOperationError {
	if (error instanceof NodeApiError || error instanceof NodeOperationError) return error;
	if (error instanceof KsherApiError || error instanceof KsherTransportError) {
		const message = shieldCodes(forN8n(withOrder(error.message, orderNumber)));
		const response: JsonObject = { message, ...errorOutput(error, orderNumber) };
		return new NodeApiError(node, response, {
			message: `${message}${itemSuffix(message, itemIndex)}`,
			description: error.solution,
			itemIndex,
		});
	}
	if (error instanceof KsherError) {
		const message = forN8n(withField(error));
		return new NodeOperationError(node, `${message}${itemSuffix(message, itemIndex)}`, {
			description: error.solution,
			itemIndex,
		});
	}
	const message = forN8n(error instanceof Error ? error.message : String(error));
	return new NodeOperationError(node, `${message}${itemSuffix(message, itemIndex)}`, { itemIndex });
}
