'use strict';
// The Ksher protocol API for use from code (after `npm run build`): what a program talking to
// Ksher needs, not the package's internals. n8n itself loads the nodes through the "n8n" field
// of package.json, not through this file.
const core = require('./dist/nodes/protocol');

module.exports = {
	// Calls: a client that signs requests and verifies every answer.
	KsherClient: core.KsherClient,
	PRODUCTION_GATEWAY_URL: core.PRODUCTION_GATEWAY_URL,
	PRODUCTION_API_URL: core.PRODUCTION_API_URL,
	// Signatures.
	canonicalString: core.canonicalString,
	signRequest: core.signRequest,
	verifyResponse: core.verifyResponse,
	KSHER_PUBLIC_KEYS: core.KSHER_PUBLIC_KEYS,
	// Notifications.
	checkNotification: core.checkNotification,
	NOTIFICATION_ACK: core.NOTIFICATION_ACK,
	// Money.
	toMinorUnits: core.toMinorUnits,
	fromMinorUnits: core.fromMinorUnits,
	SUPPORTED_CURRENCIES: core.SUPPORTED_CURRENCIES,
	// Refunds that cannot happen twice.
	deriveRefundNumber: core.deriveRefundNumber,
	// Channels and errors, as people know them.
	GATEWAY_CHANNELS: core.GATEWAY_CHANNELS,
	KSHER_ERROR_CODES: core.KSHER_ERROR_CODES,
	explainErrorCode: core.explainErrorCode,
	KsherError: core.KsherError,
	KsherInputError: core.KsherInputError,
	KsherKeyError: core.KsherKeyError,
	KsherApiError: core.KsherApiError,
	KsherTransportError: core.KsherTransportError,
};
