import { n8nCommunityNodesPlugin } from '@n8n/eslint-plugin-community-nodes';
import tseslint from 'typescript-eslint';

export default [
	{ ignores: ['dist/**', 'node_modules/**', 'e2e/**', 'test/**', 'bench/**', 'scripts/**', '*.js', '*.mjs'] },
	{
		files: ['**/*.ts'],
		languageOptions: { parser: tseslint.parser, parserOptions: { project: './tsconfig.json' } },
		plugins: { '@typescript-eslint': tseslint.plugin },
	},
	// The package.json rules read the file as a JSON expression.
	{ files: ['package.json'], languageOptions: { parser: tseslint.parser } },
	// n8n's rules for community nodes. The Cloud-only set is not used: this package stores state in
	// a local SQLite file and in PostgreSQL, which n8n Cloud's sandbox does not allow.
	{ ...n8nCommunityNodesPlugin.configs.recommendedWithoutN8nCloudSupport, files: ['**/*.ts', 'package.json'] },
	{
		rules: {
			// Runtime dependencies are few and justified in the README ("Dependencies"): pg talks to the
			// PostgreSQL state store, luxon parses and formats dates, lodash reads nested paths.
			'@n8n/community-nodes/no-runtime-dependencies': 'off',
		},
	},
	{
		// The engine has no n8n imports by design: it throws typed SyncErrors, which the nodes turn
		// into NodeOperationError at the boundary (nodes/shared/errors.ts).
		files: ['nodes/engine/**/*.ts'],
		rules: { '@n8n/community-nodes/require-node-api-error': 'off' },
	},
];
