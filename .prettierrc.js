/**
 * The n8n-nodes-starter's formatting (as @n8n/node-cli's template ships it): tabs, single quotes,
 * trailing commas, 100 columns. `npm run format` writes it; `npm run lint` fails on a file
 * formatted otherwise.
 */
module.exports = {
	semi: true,
	trailingComma: 'all',
	bracketSpacing: true,
	useTabs: true,
	tabWidth: 2,
	arrowParens: 'always',
	singleQuote: true,
	quoteProps: 'as-needed',
	endOfLine: 'lf',
	printWidth: 100,
};
