/** Three suites: engine unit tests, node tests inside a real n8n WorkflowExecute, and end-to-end runs of the real n8n CLI. */
const tsJest = ['ts-jest', { isolatedModules: true, diagnostics: false }];
const shared = {
	testEnvironment: 'node',
	transform: { '^.+\\.ts$': tsJest },
	moduleFileExtensions: ['ts', 'js', 'json'],
};

module.exports = {
	globalSetup: '<rootDir>/test/support/globalSetup.ts',
	globalTeardown: '<rootDir>/test/support/globalTeardown.ts',
	projects: [
		{ ...shared, displayName: 'unit', testMatch: ['<rootDir>/test/engine/**/*.test.ts'] },
		{ ...shared, displayName: 'node', testMatch: ['<rootDir>/test/nodes/**/*.test.ts'] },
		{ ...shared, displayName: 'e2e', testMatch: ['<rootDir>/test/e2e/**/*.test.ts'] },
	],
};
