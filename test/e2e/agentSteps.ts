import { mkdirSync, writeFileSync } from 'fs';
import { join } from 'path';

import { parseExecuteOutput, type ExecutedRun } from '../harness/n8n';
import { agentWorkflow } from '../harness/workflows';
import type { E2eContext } from './context';
import { assert, step } from './steps';

/**
 * n8n's AI Agent calling the Ksher Tool, in the real n8n (`n8n execute`, n8n stopped), with a
 * local fake chat model: parameters come from the agent's call, the credential is used, errors
 * reach the agent as text, and a refund repeated by the agent still moves money once.
 */
export async function agentSteps(ctx: E2eContext): Promise<void> {
	const order = `AI-${Date.now().toString(36)}`;
	const prompts = {
		ksherAgentRun001: `call Create_Payment {"orderNumber":"${order}","amount":"99.00"}\ncall Get_Payment {"orderNumber":"${order}"}`,
		ksherAgentRun002: `call Create_Payment {"orderNumber":"${order}","amount":"99.00"}`,
		ksherAgentRun003: `call Refund_Payment {"orderNumber":"${order}","refundAmount":"10.00"}\ncall Refund_Payment {"orderNumber":"${order}","refundAmount":"10.00"}`,
		ksherAgentRun004: `call Refund_Payment {"orderNumber":"${order}"}\ncall Refund_Payment {"orderNumber":"${order}","whatToRefund":"remaining"}`,
	};
	const agentOutput = async (id: string): Promise<string> => {
		const r = await ctx.n8n.cli(['execute', `--id=${id}`, '--rawOutput']);
		const run = parseExecuteOutput(r.stdout) as ExecutedRun;
		assert(
			r.code === 0 && run.status === 'success',
			`the agent run failed: ${run.data?.resultData.error?.message ?? r.stderr.slice(-800)}`,
		);
		return String(
			run.data.resultData.runData['AI Agent']?.[0]?.data?.main[0]?.[0]?.json.output ?? '',
		);
	};

	const imported = await step(
		'AI Agent: import three runs of an agent with three Ksher Tool nodes and a local chat model',
		async () => {
			const dir = join(ctx.work, 'agent-workflows');
			mkdirSync(dir, { recursive: true });
			for (const [id, prompt] of Object.entries(prompts))
				writeFileSync(join(dir, `${id}.json`), JSON.stringify(agentWorkflow(id, `=${prompt}`)));
			const r = await ctx.n8n.cli(['import:workflow', '--separate', `--input=${dir}`]);
			assert(r.code === 0, `import failed: ${r.stderr.slice(-800)}`);
			return Object.keys(prompts).join(', ');
		},
	);
	if (!imported) return;

	await step(
		"AI Agent → Ksher Tool: Create Payment then Get Payment, parameters from the agent's call, through the credential",
		async () => {
			const output = await agentOutput('ksherAgentRun001');
			const created = ctx.sim.order(order);
			assert(
				created &&
					created.total_fee === 9900 &&
					created.params.product_name === 'Order from the assistant',
				`Ksher got: ${JSON.stringify(created?.params)}`,
			);
			const offered = ctx.fake.requests[0]?.tools ?? [];
			assert(
				['Create_Payment', 'Get_Payment', 'Refund_Payment'].every((t) => offered.includes(t)),
				`tools offered to the model: ${offered.join(', ')}`,
			);
			assert(
				output.includes(`/page?order_uuid=${created.order_uuid}`) && /pending/.test(output),
				`the agent saw: ${output.slice(0, 600)}`,
			);
			return `order ${order} 99.00 THB; tools offered: ${offered.join(', ')}`;
		},
	);

	await step(
		'AI Agent → Ksher Tool: a refused call comes back to the agent as text it can act on, not a failed run',
		async () => {
			const output = await agentOutput('ksherAgentRun002');
			assert(
				/already used/i.test(output) &&
					output.includes(order) &&
					output.includes('Every payment link needs its own order number'),
				`the agent saw: ${output.slice(0, 600)}`,
			);
			return output.split('\n')[1]?.slice(0, 160) ?? output.slice(0, 160);
		},
	);

	await step(
		'AI Agent → Ksher Tool: the agent asks for the same refund twice; Ksher refunds once',
		async () => {
			await ctx.control('/pay', { mch_order_no: order, channel: 'card' });
			const output = await agentOutput('ksherAgentRun003');
			const refunds = ctx.sim.order(order)?.refunds ?? [];
			assert(
				refunds.length === 1 && refunds[0].refund_fee === 1000,
				`refunds at Ksher: ${JSON.stringify(refunds.map((r) => r.refund_fee))}`,
			);
			const [first, second] = output.split('\n').filter((l) => l.startsWith('result'));
			assert(
				/"alreadyRefunded":\s*false/.test(first ?? '') &&
					/"alreadyRefunded":\s*true/.test(second ?? ''),
				`the agent saw: ${output.slice(0, 800)}`,
			);
			return `1 refund of 10.00 THB; the second call answered alreadyRefunded: true`;
		},
	);

	await step(
		'AI Agent → Ksher Tool: a refund without an amount is an answer telling the agent so; everything that remains only when it asks for it',
		async () => {
			const output = await agentOutput('ksherAgentRun004');
			const refunds = ctx.sim.order(order)?.refunds ?? [];
			const [missing, remaining] = output.split('\n').filter((l) => l.startsWith('result'));
			assert(
				/Refund Amount is empty .*give the amount to refund, or ask explicitly for everything that remains/.test(
					missing ?? '',
				),
				`the agent saw: ${output.slice(0, 800)}`,
			);
			assert(
				/"refundAmount":\s*"89.00"/.test(remaining ?? '') &&
					refunds.map((r) => r.refund_fee).join() === '1000,8900',
				`refunds at Ksher: ${JSON.stringify(refunds.map((r) => r.refund_fee))}; the agent saw: ${output.slice(0, 800)}`,
			);
			return `no amount → "${(missing ?? '').slice(10, 120)}…"; whatToRefund "remaining" → 89.00 THB`;
		},
	);
}
