'use strict';
// The Ksher protocol API for use from code (after `npm run build`). n8n itself loads the
// nodes through the "n8n" field of package.json, not through this file.
const core = require('./dist/nodes/protocol');

module.exports = {
	...core,
	canonicalString: core.canonicalString,
	signRequest: core.signRequest,
	verifyResponse: core.verifyResponse,
	toMinorUnits: core.toMinorUnits,
	fromMinorUnits: core.fromMinorUnits,
	KSHER_PUBLIC_KEYS: core.KSHER_PUBLIC_KEYS,
};
