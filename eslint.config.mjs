// Lint = n8n's community-node rules (cloud rules included) on what n8n loads, exactly as
// `n8n-node lint` composes them, plus ordinary TypeScript rules on tests and tools.
// `npm run lint` also runs n8n's verification scanner over the sources and the packed
// tarball (scripts/scan.mjs), because the scanner ignores eslint-disable comments.
import js from '@eslint/js';
import { config as n8nConfig } from '@n8n/node-cli/eslint';
import tseslint from 'typescript-eslint';

const RUNTIME_TS = ['nodes/**/*.ts', 'credentials/**/*.ts'];

// n8n's config applies its node rules to every **/*.ts; narrow those blocks to runtime code.
const runtime = n8nConfig.map((block) =>
	Array.isArray(block.files) && block.files.length === 1 && block.files[0] === '**/*.ts'
		? { ...block, files: RUNTIME_TS }
		: block,
);

export default tseslint.config(
	{
		ignores: [
			'dist/**',
			'node_modules/**',
			'coverage/**',
			'**/.cache/**',
			'.demo/**',
			'test/harness/.cache/**',
		],
	},
	...runtime,
	{
		files: ['test/**/*.ts', 'scripts/**/*.ts', 'bench/**/*.ts', 'demo/**/*.ts'],
		extends: [js.configs.recommended, ...tseslint.configs.recommended],
		rules: {
			'@typescript-eslint/no-unused-vars': [
				'error',
				{ varsIgnorePattern: '^_', argsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
			],
			'@typescript-eslint/no-non-null-assertion': 'off',
		},
	},
	{
		files: ['**/*.mjs', '**/*.js'],
		ignores: ['dist/**'],
		extends: [js.configs.recommended],
		languageOptions: {
			globals: {
				process: 'readonly',
				console: 'readonly',
				Buffer: 'readonly',
				URL: 'readonly',
				fetch: 'readonly',
				setTimeout: 'readonly',
				clearTimeout: 'readonly',
				AbortSignal: 'readonly',
				require: 'readonly',
				module: 'writable',
				exports: 'writable',
				__dirname: 'readonly',
			},
		},
	},
);
