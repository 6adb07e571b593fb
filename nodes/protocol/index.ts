/** The Ksher protocol core: plain TypeScript with no n8n imports, shared by both nodes and the tools. */
export * from './amounts';
export * from './canonical';
export * from './channels';
export * from './client';
export * from './errorCodes';
export * from './errors';
export * from './hosts';
export * from './keys';
export * from './notification';
export * from './refunds';
export * from './refundAmounts';
export * from './refundPlan';
export * from './signature';
export * from './transport';
export * from './validation';
export * from './watch';
export * from './timeouts';
