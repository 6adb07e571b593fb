/** @type {import('jest').Config} */
module.exports = {
	testEnvironment: 'node',
	roots: ['<rootDir>/test'],
	testMatch: ['**/*.test.ts'],
	transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'test/tsconfig.json' }] },
	setupFiles: ['<rootDir>/test/setup/env.ts'],
	testTimeout: 60000,
	// Every core (jest's default leaves one to itself: one worker on CI's 2 cores, 7.2 minutes instead of 4.0).
	maxWorkers: '100%',
	reporters: ['default', '<rootDir>/test/adversarial/reporter.js'],
};
