import { recordFigure } from './figures';

/**
 * Every adversarial file fails if a promise rejection goes unhandled while it runs:
 * a swallowed rejection is exactly how an integration loses track of money.
 */
const rejections: unknown[] = [];
const onRejection = (reason: unknown) => rejections.push(reason);

export function guardUnhandledRejections(name: string): void {
	beforeAll(() => {
		process.on('unhandledRejection', onRejection);
	});
	afterAll(() => {
		process.off('unhandledRejection', onRejection);
		recordFigure(
			`Unhandled promise rejections (${name})`,
			rejections.length,
			rejections.length ? String(rejections[0]) : 'none',
		);
		expect(rejections.map(String)).toEqual([]);
	});
}
