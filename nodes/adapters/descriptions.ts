/**
 * n8n's node search shows one entry for a package's node and its trigger, with one description
 * (the trigger's, above the Ksher node's actions too), so both nodes describe the package.
 */
export const PACKAGE_DESCRIPTION =
	'Take payments with Ksher Gateway Pay: payment links, payment status, refunds, settlements, and workflows started by verified payments';
