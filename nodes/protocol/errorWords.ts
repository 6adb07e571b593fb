/**
 * Ksher's error table (errorCodes.ts) speaks Ksher's API ("Check mch order no is correct or not").
 * For the codes this package's operations meet, what happened and what to do in a shop owner's
 * words; the other codes keep Ksher's description and solution.
 */
export const ERROR_WORDS: Readonly<Record<string, { description: string; solution: string }>> = {
	ORDER_NOT_EXIST: {
		description: 'Ksher has no payment with this order number',
		solution:
			'Check the Order Number: it must be the one given to Create Payment, exactly as it was written.',
	},
	KSHER_INVALID_ORDER_NO: {
		description: 'Ksher has no payment with this order number',
		solution:
			'Check the Order Number: it must be the one given to Create Payment, exactly as it was written.',
	},
	INVALID_ORDER_NO: {
		description: 'Ksher does not accept this order number for this action',
		solution:
			'Use the Order Number of a payment made with Create Payment; check its state with Get Payment.',
	},
	NOAUTH: {
		description: 'Your Ksher account is not enabled for this action',
		solution:
			'Ask Ksher support to enable it for your account (for Create QR: QR payments, native_pay, on the channel you chose). Account → Get lists your channels and, under qrChannels, those a QR can be made for.',
	},
	KSHER_DUPLICATED_ORDERNO: {
		description: 'This order number was already used for another payment',
		solution:
			'Every payment link needs its own order number: add a suffix (e.g. INV-1001-2), or look the existing payment up with Get Payment.',
	},
	KSHER_DUPLICATED_REFUND_ORDERNO: {
		description: 'This refund number was already used',
		solution:
			'Give the refund its own Refund Number, or leave Refund Number empty so that one is derived from the order and the amount.',
	},
	ORDER_ALREADY_REFUND: {
		description: 'This payment is already fully refunded',
		solution: 'Nothing is left to refund; Refund → Get Many lists its refunds.',
	},
	KSHER_INVALID_REFUND_BALANCE: {
		description: 'The refund is more than what remains of this payment',
		solution:
			'Refund at most what remains (the payment minus its earlier refunds); Refund → Get Many lists them.',
	},
	KSHER_INVALID_REFUND_FEE_OR_TYPE: {
		description: "The refund's amount or currency does not match the payment",
		solution: "Refund in the payment's currency, at most its amount.",
	},
	KSHER_INVALID_REFUND_AMOUNT: {
		description: 'Partial refunds are not allowed for this Ksher account',
		solution:
			'Refund the whole payment (What to Refund: Everything That Remains), or ask Ksher to allow partial refunds.',
	},
	ORDER_NOT_PAY: {
		description: 'This payment has not been paid',
		solution: 'Only paid payments can be refunded; check its state with Get Payment.',
	},
	PRICE_NOT_EXIST: {
		description: 'Ksher refused the amount',
		solution: "Use an amount above zero, in the payment's currency.",
	},
	KSHER_AMOUNT_IS_TOO_SMALL: {
		description: 'The amount is below the minimum of a chosen channel',
		solution:
			'Raise the amount, or remove the channels with a minimum (mobile banking apps and Atome: 20 THB; instalments: 3,000 THB).',
	},
	CANCEL_ERROR: {
		description: 'Ksher could not cancel this payment',
		solution:
			'It may be paid already, or its wallet cannot cancel (a card payment in progress cannot be cancelled). Check it with Get Payment.',
	},
	ORDER_ALREADY_CANCEL: {
		description: 'This payment was cancelled',
		solution: 'Create a new payment link, with a new order number.',
	},
	ORDER_ALREADY_CANCEL_OPERATION_CANNOT_BE_PERFORMED: {
		description: 'This payment was cancelled, so this cannot be done',
		solution: 'Create a new payment link, with a new order number.',
	},
	KSHER_SIGN_ERROR: {
		description: "Ksher rejected the request's signature",
		solution:
			"The credential's Private Key is not the latest one downloaded for this App ID (every reset in the Ksher merchant portal replaces it): paste the newest privatekey.pem.",
	},
	KSHER_SYSTEMERROR: {
		description: 'Ksher had an internal error',
		solution:
			'Try again in a moment. For a refund, run the same row again: its refund number makes sure it happens once.',
	},
	APPID_NOT_EXIST: {
		description: 'Ksher does not know this App ID',
		solution:
			'Check the credential\'s App ID: "mch" followed by your merchant number, as shown in the Ksher merchant portal.',
	},
	KSHER_INVALID_MCHINFO: {
		description: 'Ksher does not know this App ID',
		solution:
			'Check the credential\'s App ID: "mch" followed by your merchant number, as shown in the Ksher merchant portal.',
	},
	KSHER_INVALID_PARAM: {
		description: 'Ksher refused a value of the request',
		solution:
			'Check the values given to the node; if they look right, contact Ksher support with the order number.',
	},
};
