import { readFileSync } from 'fs';
import { join } from 'path';

import { REPO_DIR } from '../harness/n8n';

import { bahtGrouped, type Verdict } from './model';
import type { DayFigures, MonthRun } from './driver';
import type { MonthPlan } from './plan';

/**
 * The month as one static HTML page: the summary line, what was checked, and per-day charts
 * (Chart.js and its annotation plugin, inlined so that the page works offline and from docs/),
 * the faults marked on every chart's timeline.
 */

const script = (path: string) =>
	readFileSync(join(REPO_DIR, 'node_modules', path), 'utf8').replace(/<\/script/gi, '<\\/script');

export function summaryLine(plan: MonthPlan, run: MonthRun, verdict: Verdict): string {
	const f = verdict.figures;
	const orders = plan.orders.length;
	const p99 = Math.max(...run.days.map((d) => d.ackP99));
	return (
		`month: ${plan.days} days, ${orders.toLocaleString('en')} orders, ${f.receipts.toLocaleString('en')} receipts ` +
		`(${f.missingReceipts} missing, ${f.flaggedTwice} flagged twice, ${f.killedTwice} twice after a kill, ${f.unflaggedTwice} other repeats), ` +
		`${f.refunds} refunds (${f.refundEmails} emails), ${f.overRefunds} over-refunds, ` +
		`${f.reconciledDays} reconciliations (${f.unexplainedMismatches} unexplained mismatches, ${f.expectedMismatches} expected), ` +
		`${f.unfinished} runs unfinished (${f.stranded} ended by n8n's queue recovery), ` +
		`worst day's acknowledgement p99 ${(p99 / 1000).toFixed(2)} s`
	);
}

export function monthReport(plan: MonthPlan, run: MonthRun, verdict: Verdict): string {
	const days = run.days;
	const labels = days.map((d) => d.date.slice(5));
	const thb = (key: keyof DayFigures) => days.map((d) => Number(d[key]) / 100);
	// One marker a day, its faults joined, so that two faults of one day do not hide each other.
	const faults = days.flatMap((d, i) =>
		d.faults.length ? [{ index: i, name: d.faults.join(' + ') }] : [],
	);
	const annotations = Object.fromEntries(
		faults.map((f, n) => [
			`fault${n}`,
			{
				type: 'line',
				xMin: f.index,
				xMax: f.index,
				borderColor: '#c0392b',
				borderWidth: 2,
				borderDash: [6, 4],
				label: {
					display: true,
					content: f.name,
					position: 'start',
					backgroundColor: '#c0392b',
					font: { size: 11 },
				},
			},
		]),
	);
	const charts = [
		{
			id: 'money',
			title: 'Money per day (THB): paid, refunded, settled by Ksher, transferred',
			type: 'line',
			datasets: [
				{ label: 'paid', data: thb('paidSatang'), borderColor: '#2e86de' },
				{ label: 'refunded', data: thb('refundedSatang'), borderColor: '#e67e22' },
				{ label: 'settled (trading day)', data: thb('settledSatang'), borderColor: '#27ae60' },
				{
					label: 'transferred',
					data: thb('transferredSatang'),
					borderColor: '#8e44ad',
					borderDash: [4, 3],
				},
			],
		},
		{
			id: 'work',
			title: 'Orders, payments, emails, receipt runs, duplicates and mismatches per day',
			type: 'bar',
			datasets: [
				{ label: 'orders', data: days.map((d) => d.orders), backgroundColor: '#b2bec3' },
				{ label: 'paid', data: days.map((d) => d.paid), backgroundColor: '#2e86de' },
				{ label: 'receipts', data: days.map((d) => d.receiptRuns), backgroundColor: '#27ae60' },
				{ label: 'emails (all)', data: days.map((d) => d.emails), backgroundColor: '#16a085' },
				{
					label: 'receipts flagged possibleDuplicate',
					data: days.map((d) => d.duplicates),
					backgroundColor: '#e67e22',
				},
				{
					label: "morning books' mismatches",
					data: days.map((d) => d.morningMismatches ?? 0),
					backgroundColor: '#c0392b',
				},
			],
		},
		{
			id: 'ack',
			title:
				"Ksher's notifications: n8n's acknowledgement of the first delivery, and the record run's part in it (ms)",
			type: 'line',
			datasets: [
				{ label: 'p50', data: days.map((d) => Math.round(d.ackP50)), borderColor: '#2e86de' },
				{ label: 'p99', data: days.map((d) => Math.round(d.ackP99)), borderColor: '#c0392b' },
				// Where it went: the record run's own length, and (queue mode) its wait to be started by a worker.
				{
					label: 'record run p99',
					data: days.map((d) => d.runP99),
					borderColor: '#8e44ad',
					borderDash: [6, 4],
				},
				...(days.some((d) => d.queuedP99 !== null)
					? [
							{
								label: 'stored → started p99',
								data: days.map((d) => d.queuedP99),
								borderColor: '#16a085',
								borderDash: [2, 3],
							},
						]
					: []),
			],
		},
	];
	const ok = verdict.problems.length === 0;
	const f = verdict.figures;
	const checks: Array<[string, string, boolean]> = [
		[
			'Every paid order got one receipt',
			`${f.receipts} receipts, ${f.missingReceipts} missing, ${f.flaggedTwice} second ones flagged, ${f.killedTwice} unflagged second ones of a notification a kill of the receiving process caught in flight (the README's bound), ${f.unflaggedTwice} other repeats`,
			f.missingReceipts === 0 && f.unflaggedTwice === 0,
		],
		[
			'Every refund exactly what was asked, its customer emailed once',
			`${f.refunds} refunds at Ksher, ${f.refundEmails} refund emails, ${f.overRefunds} over-refunds`,
			f.overRefunds === 0,
		],
		[
			'The books: every day reconciled after every channel settled',
			`${f.reconciledDays} days, ${f.unexplainedMismatches} unexplained mismatches, ${f.expectedMismatches} expected (a part PromptPay refund made in Ksher's portal)`,
			f.unexplainedMismatches === 0,
		],
		[
			'The Data Tables equal Ksher',
			`${run.sizes.ordersRows} rows in Ksher orders`,
			!verdict.problems.some(
				(p) =>
					p.startsWith('Ksher orders') ||
					p.startsWith('Ksher refunds') ||
					p.startsWith('refund queue'),
			),
		],
		[
			'No execution left running',
			Object.entries(run.observed.unfinished)
				.map(([k, v]) => `${k} ${v}`)
				.join(', ') +
				(f.stranded
					? ` after n8n's queue recovery at the main process's restart, which marked crashed ${f.stranded} runs the faults had left "new" or "running" (the README's table of faults says which faults do this): ${run.observed.recovered.map((r) => r.run).join('; ')}`
					: ''),
			!verdict.problems.some((p) => p.includes('never finished')),
		],
	];
	const ms = (x: number | null) => (x === null ? '–' : x.toLocaleString('en'));
	const esc = (s: string) =>
		s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
	const paid = days.reduce((a, d) => a + d.paidSatang, 0);
	const refunded = days.reduce((a, d) => a + d.refundedSatang, 0);
	const settled = days.reduce((a, d) => a + d.settledSatang, 0);
	return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Ksher month: ${esc(run.days[0]?.date ?? '')}</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px auto;max-width:1180px;color:#2d3436;padding:0 16px}
h1{font-size:22px;margin:0 0 4px}.sub{color:#636e72;margin:0 0 16px}
.verdict{padding:10px 14px;border-radius:8px;font-weight:600;margin:12px 0;background:${ok ? '#e8f8ef' : '#fdecea'};color:${ok ? '#1e8449' : '#c0392b'}}
.kpis{display:grid;grid-template-columns:repeat(5,1fr);gap:10px;margin:14px 0}
.kpi{background:#f5f6fa;border-radius:8px;padding:10px 12px}.kpi b{display:block;font-size:20px}
table{border-collapse:collapse;width:100%;margin:8px 0 18px}td,th{border-bottom:1px solid #dfe6e9;padding:6px 8px;text-align:left;vertical-align:top}
.pass{color:#1e8449;font-weight:600}.fail{color:#c0392b;font-weight:600}
.chart{background:#fff;border:1px solid #dfe6e9;border-radius:8px;padding:12px;margin:14px 0}.chart h2{font-size:15px;margin:0 0 8px}
.plot{position:relative;height:280px}ul.problems{color:#c0392b}
</style></head><body>
<h1>A shop's month in real n8n</h1>
<p class="sub">${esc(run.n8n)}, ${run.mode} mode${run.mode === 'queue' ? ' (PostgreSQL, Redis, main, 2 workers, 1 webhook process)' : ''} · seed ${plan.seed} · ${plan.days} days from ${esc(days[0]?.date ?? '')} · ${plan.ordersPerDay} orders a day · ${Math.round(run.seconds / 60)} minutes of real time · <code>npm run month -- --seed=${plan.seed} --days=${plan.days} --orders=${plan.ordersPerDay}${run.mode === 'queue' ? ' --mode=queue' : ''}</code></p>
<div class="verdict">${ok ? 'All checks passed' : `${verdict.problems.length} problems`}: ${esc(summaryLine(plan, run, verdict))}</div>
<div class="kpis">
<div class="kpi">paid<b>${bahtGrouped(paid)} THB</b></div>
<div class="kpi">refunded<b>${bahtGrouped(refunded)} THB</b></div>
<div class="kpi">settled by Ksher<b>${bahtGrouped(settled)} THB</b></div>
<div class="kpi">trigger memory<b>${(run.sizes.memoryBytes / 1024).toFixed(0)} KB</b></div>
<div class="kpi">n8n database<b>${(run.sizes.databaseBytes / 1048576).toFixed(1)} MB</b>${run.sizes.executions} executions kept (${run.sizes.recordRuns} record runs in the month)</div>
</div>
<table><tr><th>Checked against the simulator's ledger</th><th>Measured</th><th></th></tr>
${checks.map(([what, got, pass]) => `<tr><td>${esc(what)}</td><td>${esc(got)}</td><td class="${pass ? 'pass' : 'fail'}">${pass ? 'PASS' : 'FAIL'}</td></tr>`).join('\n')}
</table>
${
	verdict.problems.length
		? `<ul class="problems">${verdict.problems
				.slice(0, 50)
				.map((p) => `<li>${esc(p)}</li>`)
				.join('')}</ul>`
		: ''
}
${charts.map((c) => `<div class="chart"><h2>${esc(c.title)}</h2><div class="plot"><canvas id="${c.id}"></canvas></div></div>`).join('\n')}
<table><tr><th>The month's record runs of payments, when each started</th><th>runs</th><th>run p50 / p99 (ms)</th><th>stored → started p50 / p99 (ms)</th></tr>
${Object.entries(run.beside)
	.map(
		([group, g]) =>
			`<tr><td>${esc(group)}</td><td>${g.runs}</td><td>${ms(g.runP50)} / ${ms(g.runP99)}</td><td>${run.mode === 'queue' ? `${ms(g.queuedP50)} / ${ms(g.queuedP99)}` : '(queue mode only)'}</td></tr>`,
	)
	.join('\n')}
</table>
<p class="sub">Faults (red dashed lines): ${faults.map((x) => `day ${x.index + 1} ${esc(x.name)}`).join('; ') || 'none'}. ${run.observed.faultsHit.map((h) => `Day ${h.day}, ${esc(h.kind)}: ${h.caught} notification${h.caught === 1 ? '' : 's'} on ${h.caught === 1 ? 'its' : 'their'} way when it hit.`).join(' ')} Settled and transferred are shown on the trading day they belong to.</p>
<script>${script('chart.js/dist/chart.umd.js')}</script>
<script>${script('chartjs-plugin-annotation/dist/chartjs-plugin-annotation.min.js')}</script>
<script>
const labels = ${JSON.stringify(labels)};
const annotations = ${JSON.stringify(annotations)};
for (const c of ${JSON.stringify(charts)}) {
  new Chart(document.getElementById(c.id), {
    type: c.type,
    data: { labels, datasets: c.datasets.map((d) => ({ ...d, pointRadius: 2, tension: 0.2, borderWidth: d.borderWidth ?? 2 })) },
    options: { animation: false, responsive: true, maintainAspectRatio: false, interaction: { mode: 'index', intersect: false },
      plugins: { annotation: { annotations } }, scales: { y: { beginAtZero: true } } },
  });
}
document.body.dataset.ready = 'yes';
</script>
</body></html>
`;
}
