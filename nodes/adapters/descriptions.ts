/**
 * n8n's node search shows one entry for a package's node and its trigger, with one description
 * (the trigger's, above the Ksher node's actions too), so both nodes describe the package.
 */
export const PACKAGE_DESCRIPTION =
	'Take payments with Ksher Gateway Pay: payment links, payment status, refunds, settlements, and workflows started by verified payments';

/** Both nodes and the credential wear the same icon, light and dark. */
export const KSHER_ICON = {
	light: 'file:../../icons/ksher.svg',
	dark: 'file:../../icons/ksher.dark.svg',
} as const;

/**
 * A section of the README. The editor opens this as given, whereas the codex link gets
 * `?utm_source=…` appended after its #section, which breaks it.
 */
export const docsUrl = (section: string) =>
	`https://github.com/n8n-nodes-ksher/n8n-nodes-ksher#${section}`;
