import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { join } from 'path';

import type { Browser, Page } from 'playwright-core';

import { PACKAGE_DESCRIPTION } from '../../nodes/adapters/descriptions';
import { initialWatchState, parseEmvPayload } from '../../nodes/protocol';
import { decodeQr } from '../helpers/qr';
import { csvRows } from '../harness/csv';
import { checkDocsImage } from '../harness/docsImages';
import type { N8nLine } from '../harness/n8n';
import { launchBrowser } from '../harness/browser';
import { OWNER } from '../harness/rest';
import {
	booksWorkflow,
	exampleWorkflows,
	loadExample,
	refundWorkflows,
	watchWorkflows,
	WORKFLOW_IDS,
} from '../harness/workflows';
import { createExampleTables, createOrder, type E2eContext } from './context';
import { assert, log, step, waitFor } from './steps';

/**
 * What a new user meets in a real browser: Debian's Chromium driven by playwright-core (no
 * browser download). The payer's side (checkout page → the order page → the mail page), then
 * the editor: sign in, every example workflow opens with known nodes, and a Ksher node's panel
 * switched from Payment → Create to Refund → Create shows an empty Refund Amount. Every
 * request the pages make to anything but this machine is refused and reported.
 */
interface BrowserInput {
	editorUrl: string;
	login: { email: string; password: string };
	payment: { payUrl: string; orderNumber: string };
	mailUrl: string;
	/** Example workflows (id → name) to open; `panelWorkflow` holds the "Create Payment" node. */
	workflows: Record<string, string>;
	panelWorkflow: string;
	/** The workflow the README shows (the receipt-and-record one), and the refund sheet whose Refund panel it shows. */
	receiptWorkflow: string;
	refundSheetWorkflow: string;
	/** Where the refund sheet reads and writes its files. */
	filesDir: string;
	/**
	 * The refund sheet as a user runs it: `writeSheet` writes refunds.csv with one paid order to refund
	 * 20.00 of; `refunds` is what Ksher holds for it; `results` reads refund-results.csv.
	 */
	sheet: {
		writeSheet: () => Promise<string>;
		refunds: (orderNumber: string) => number;
		results: () => Array<Record<string, string>>;
		/** refund-preview.csv, and whether it is there. */
		preview: () => Array<Record<string, string>>;
		approvalMails: () => number;
	};
	/** The sell-in-chat example, which an earlier step ran once (receiptSteps' chat order). */
	chatQrWorkflow: string;
	artifactsDir: string;
	/** The README's pictures are checked against this line's editor (2). */
	line: N8nLine;
	/**
	 * The watch path as the README tells it: import the example file in the editor, save, pick the
	 * Data Table in its two Data Table nodes, run; `refundedOrder` makes a watched order refunded
	 * since its stored state, and the refund email must arrive.
	 */
	watch: {
		exampleFile: string;
		tables: { orders: string; refunds: string };
		refundedOrder: () => Promise<string>;
		mailSubjects: () => string[];
	};
}

/** A new user's first minutes, in a real browser, against the regular-mode n8n (running). */
export async function browserSteps(ctx: E2eContext): Promise<void> {
	const { n8n, rest, sim, smtp, filesDir, triggerUrl, work, control, unpaidOrder } = ctx;
	const browserOrder = `BROWSER-${Date.now().toString(36)}`;
	const resultUrl = `${sim.info.checkoutUrl}/result?mail=${encodeURIComponent(smtp.viewerUrl)}`;
	// Tables of their own, which no active workflow watches: the email must come from the run in the browser.
	const browserTables = await createExampleTables(rest);
	const { data: link } = await createOrder(ctx.client, browserOrder, {
		channel_list: 'promptpay,card,truemoney,linepay',
		mch_redirect_url: resultUrl,
		mch_redirect_url_fail: resultUrl,
		mch_notify_url: triggerUrl,
		product_name: 'Thai silk scarf',
		attach: JSON.stringify({ email: 'buyer@example.com' }),
	});
	// The example file as users download it: no table picked, every 5 minutes.
	const exampleFile = join(work, 'watch-orders-email-refunds.json');
	writeFileSync(exampleFile, JSON.stringify(loadExample('watch-orders-email-refunds.json')));
	await browserSession({
		editorUrl: n8n.url,
		login: { email: OWNER.email, password: OWNER.password },
		payment: { payUrl: String(link.pay_content), orderNumber: browserOrder },
		mailUrl: smtp.viewerUrl,
		workflows: Object.fromEntries(
			[
				...exampleWorkflows({ filesDir, triggerUrl }),
				...watchWorkflows({ orders: '', refunds: '' }, 2),
				booksWorkflow({ orders: '', refunds: '' }),
				...refundWorkflows({ refundQueue: '', refunds: '' }, 2),
			].map((wf) => [wf.id, wf.name]),
		),
		panelWorkflow: WORKFLOW_IDS.paymentLink,
		receiptWorkflow: WORKFLOW_IDS.recordPaid,
		refundSheetWorkflow: WORKFLOW_IDS.refundSheet,
		filesDir,
		sheet: {
			writeSheet: async () => {
				const no = `UI-SHEET-${Date.now().toString(36)}`;
				await unpaidOrder(no, 15050);
				await control('/pay', { mch_order_no: no, channel: 'truemoney', notify: false });
				writeFileSync(
					join(filesDir, 'refunds.csv'),
					`orderNumber,amount,reason\n${no},20.00,scratched\n`,
				);
				for (const file of ['refund-results.csv', 'refund-preview.csv'])
					rmSync(join(filesDir, file), { force: true });
				return no;
			},
			refunds: (no) => sim.order(no)?.refunds.length ?? 0,
			results: () => readCsv(join(filesDir, 'refund-results.csv')),
			preview: () => readCsv(join(filesDir, 'refund-preview.csv')),
			approvalMails: () => smtp.mails.filter((m) => /from refunds\.csv/.test(m.subject)).length,
		},
		chatQrWorkflow: WORKFLOW_IDS.chatQr,
		artifactsDir: ctx.artifactsDir,
		line: ctx.line,
		watch: {
			exampleFile,
			tables: { orders: browserTables.orders.name, refunds: browserTables.refunds.name },
			refundedOrder: async () => {
				const no = `UI-WATCH-${Date.now().toString(36)}`;
				await unpaidOrder(no, 15050);
				await control('/pay', { mch_order_no: no, channel: 'truemoney', notify: false });
				await rest.insertDataTableRows(browserTables.orders, [
					{
						orderNumber: no,
						email: 'ui-watch@example.com',
						watchState: initialWatchState('paid', new Date()),
					},
				]);
				await control('/refund', { mch_order_no: no, refund_fee: 5000 });
				return no;
			},
			mailSubjects: () => smtp.mails.map((m) => m.subject),
		},
	});
}

/** A CSV the refund sheet wrote, or no rows while it is not there. */
const readCsv = (file: string) => {
	const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
	// Read while n8n writes it, the file may still be empty: no rows yet, as when it is not there.
	return text.trim() ? csvRows(text) : [];
};

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** 2.41 opens a "Production Checklist" over a published workflow: closed, as a user would. */
async function closeChecklist(page: Page): Promise<void> {
	const checklist = page.getByText('Production Checklist');
	if (!(await checklist.isVisible().catch(() => false))) return;
	await checklist.locator('xpath=ancestor::*[.//button][1]').locator('button').first().click();
	await checklist.waitFor({ state: 'hidden', timeout: 5_000 }).catch(() => undefined);
}

async function browserSession(input: BrowserInput): Promise<void> {
	mkdirSync(input.artifactsDir, { recursive: true });
	log(`browser screenshots go to ${input.artifactsDir}`);
	let browser: Browser | undefined;
	const outside: string[] = [];
	const pageErrors: string[] = [];
	const errorToasts: string[] = [];
	/** The error notifications n8n shows the user (element-plus toasts). */
	const collectToasts = async (page: Page, where: string) => {
		for (const toast of await page
			.locator('.el-notification:has(.el-notification--error)')
			.allInnerTexts())
			errorToasts.push(`${where}: ${toast.replace(/\s+/g, ' ').trim()}`);
	};
	let shot = 0;
	const screenshot = async (page: Page, name: string) => {
		const file = join(input.artifactsDir, `${String(++shot).padStart(2, '0')}-${name}.png`);
		await page.screenshot({ path: file, fullPage: false });
		return file;
	};
	const docsImages: string[] = [];
	/** A README picture: checked against docs/images/ on the 2.x line (whose editor it shows). */
	const docsImage = (name: string, file: string, tolerance?: number) => {
		if (input.line === '2') docsImages.push(checkDocsImage(name, file, tolerance));
	};
	try {
		const started = await step(
			"browser: Debian's Chromium starts under playwright-core",
			async () => {
				browser = await launchBrowser();
				return `Chromium ${browser.version()}`;
			},
		);
		if (!started || !browser) return;
		const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
		await context.route('**/*', (route) => {
			const url = new URL(route.request().url());
			if (LOOPBACK.has(url.hostname) || url.protocol === 'data:' || url.protocol === 'blob:')
				return route.continue();
			outside.push(url.href);
			return route.abort();
		});
		const page = await context.newPage();
		page.on('pageerror', (error) =>
			pageErrors.push(`${error.message} (${(error.stack ?? '').split('\n')[1]?.trim() ?? ''})`),
		);

		await step(
			'browser: pay the checkout link with PromptPay, land on the order page, find the receipt on the mail page',
			async () => {
				await page.goto(input.payment.payUrl);
				await page.getByText('150.50 THB').first().waitFor();
				await screenshot(page, 'checkout');
				await Promise.all([
					page.waitForURL(/\/page\/result\?/),
					page.getByRole('button', { name: 'PromptPay' }).click(),
				]);
				const state = (await page.locator('#state').textContent()) ?? '';
				assert(state === 'Paid with PromptPay', `the order page says "${state}"`);
				await screenshot(page, 'order-page');
				await Promise.all([
					page.waitForURL(input.mailUrl),
					page.getByRole('link', { name: /See the emails n8n sent/ }).click(),
				]);
				const subject = `Receipt for order ${input.payment.orderNumber}`;
				await waitFor(
					'the receipt on the mail page',
					async () => {
						if ((await page.getByText(subject).count()) > 0) return true;
						await page.reload();
						return undefined;
					},
					30_000,
				);
				const article = page.locator('article', { hasText: subject });
				const receipt = (await article.textContent()) ?? '';
				assert(
					receipt.includes('Paid with: PromptPay') && receipt.includes('150.50 THB'),
					`the receipt reads: ${receipt}`,
				);
				assert(
					!/T\d\d:\d\d:\d\d\+07:00/.test(receipt),
					`the receipt shows a raw time stamp: ${receipt}`,
				);
				await screenshot(page, 'mail-page');
				const emailShot = join(input.artifactsDir, 'receipt-email.png');
				await article.screenshot({ path: emailShot });
				docsImage('receipt-email.png', emailShot);
				return `"${subject}" with "Paid with: PromptPay"`;
			},
		);

		await step(
			'browser: sign in to the editor; every example workflow opens with known nodes',
			async () => {
				await page.goto(`${input.editorUrl}/signin`);
				await page.locator('input[type="email"]').fill(input.login.email);
				await page.locator('input[type="password"]').fill(input.login.password);
				await Promise.all([
					page.waitForURL((url) => !url.pathname.includes('signin'), { timeout: 30_000 }),
					page.locator('input[type="password"]').press('Enter'),
				]);
				for (const name of Object.values(input.workflows))
					await page.getByText(name, { exact: true }).first().waitFor({ timeout: 30_000 });
				await screenshot(page, 'workflows');
				const opened: string[] = [];
				// Each is opened as a user opens it, by its name on the list, and the list is reached again with
				// the browser's Back: navigation inside the editor, as in a user's session. (A page load per
				// workflow re-ran the whole editor, 10 s each on 2 cores.)
				const list = page.url();
				for (const [id, name] of Object.entries(input.workflows)) {
					await Promise.all([
						page.waitForURL((url) => url.pathname.endsWith(`/workflow/${id}`), { timeout: 30_000 }),
						page.getByText(name, { exact: true }).first().click(),
					]);
					await page.locator('[data-test-id="canvas-node"]').first().waitFor({ timeout: 30_000 });
					const nodes = await page.locator('[data-test-id="canvas-node"]').count();
					const text = await page.locator('body').innerText();
					assert(
						!/not (currently )?installed|unknown node|Install this node/i.test(text),
						`${name}: the editor reports a missing node`,
					);
					await collectToasts(page, name);
					await screenshot(page, `workflow-${id}`);
					opened.push(`${name} (${nodes} nodes)`);
					await page.goBack();
					await page.waitForURL(list, { timeout: 30_000 });
				}
				return opened.join('; ');
			},
		);

		await step(
			"browser: the node search shows the package's description (not the trigger's) for Ksher",
			async () => {
				await page.goto(`${input.editorUrl}/workflow/new`);
				// Typed keys go nowhere while the node panel is still opening (stop 43's CI: the search never
				// showed "Ksher"), so wait for its search box and fill it; a click made while the new canvas was
				// still rendering can be lost too, so the panel gets a second click if it has not opened.
				const plus = page.locator('[data-test-id="node-creator-plus-button"]').first();
				const search = page.locator('input[data-test-id="node-creator-search-bar"]').first();
				await plus.click();
				if (
					!(await search.waitFor({ timeout: 5_000 }).then(
						() => true,
						() => false,
					))
				) {
					await screenshot(page, 'node-search-not-opened');
					await plus.click();
					await search.waitFor({ timeout: 15_000 });
				}
				await search.fill('Ksher');
				const entry = page.getByText(PACKAGE_DESCRIPTION).first();
				const ksher = page.getByText('Ksher', { exact: true }).first();
				await ksher.waitFor({ timeout: 15_000 });
				await screenshot(page, 'node-search');
				// 2.x shows the description under the search result; 1.x lists the package as "Ksher" and shows its
				// nodes, each with the description, once it is opened.
				await entry.waitFor({ timeout: 5_000 }).catch(() => undefined);
				if (!(await entry.isVisible().catch(() => false))) {
					await ksher.click();
					await entry.waitFor({ timeout: 15_000 });
					await page.waitForTimeout(600);
					await screenshot(page, 'node-search-opened');
				}
				const shown = (await page.locator('body').innerText()).includes(
					'Starts the workflow when Ksher notifies',
				);
				assert(!shown, 'the old trigger description is still shown');
				// The trigger's events, as the node search offers them: only those Ksher sends. They are listed in
				// the package's panel (1.x opened it above; 2.x opens it from the search result).
				const paidEvent = page.getByText(/On payment paid/i).first();
				if (!(await paidEvent.isVisible().catch(() => false))) await ksher.click();
				await paidEvent.waitFor({ timeout: 15_000 });
				await screenshot(page, 'node-search-trigger-events');
				const events = await page.locator('body').innerText();
				assert(
					!/payment refunded/i.test(events),
					'the node search offers "On payment refunded", which Ksher never sends',
				);
				return `"${PACKAGE_DESCRIPTION}"; the trigger's events: ${[
					...events.matchAll(/On [a-z ]+/gi),
				]
					.map((m) => m[0])
					.slice(0, 4)
					.join(', ')}`;
			},
		);

		await step(
			"browser: the README's pictures: the receipt workflow, and the refund-sheet example's Refund → Create panel",
			async () => {
				await page.goto(`${input.editorUrl}/workflow/${input.receiptWorkflow}`);
				await page.locator('[data-test-id="canvas-node"]').first().waitFor({ timeout: 30_000 });
				await closeChecklist(page);
				await page.waitForTimeout(1000);
				docsImage('receipt-workflow.png', await screenshot(page, 'receipt-workflow'));
				const nodes = (await page.locator('[data-test-id="canvas-node"]').allInnerTexts())
					.map((t) => t.split('\n')[0])
					.join(', ');
				await page.goto(`${input.editorUrl}/workflow/${input.refundSheetWorkflow}`);
				// Exactly "Refund": "Read Refunds CSV" contains the word too.
				const refundNode = page
					.locator('[data-test-id="canvas-node"]')
					.filter({ has: page.getByText('Refund', { exact: true }) })
					.first();
				await refundNode.waitFor({ timeout: 30_000 });
				await refundNode.dblclick();
				await page
					.locator('[data-test-id="parameter-input-whatToRefund"]')
					.waitFor({ timeout: 15_000 });
				await page.waitForTimeout(800);
				docsImage('refund-create-panel.png', await screenshot(page, 'refund-sheet-panel'));
				await page.keyboard.press('Escape');
				return nodes;
			},
		);

		await step(
			"browser: the refund sheet run from the editor (Execute workflow): the manager's approval email rendered on the mail page with its Approve and Decline buttons (README picture); Approve clicked there: the row refunded once; Execute again: nothing refunded, nobody asked",
			async () => {
				/** The sheet opened in the editor and run with Execute workflow, as a user does. */
				const executeSheet = async () => {
					await page.goto(`${input.editorUrl}/workflow/${input.refundSheetWorkflow}`);
					await page.locator('[data-test-id="canvas-node"]').first().waitFor({ timeout: 30_000 });
					await closeChecklist(page);
					await page
						.locator('[data-test-id="execute-workflow-button"]')
						.first()
						.click({ force: true });
				};
				/** The rows of a CSV the run writes, once it has written them. */
				const written = (what: string, read: () => Array<Record<string, string>>, ms: number) =>
					waitFor(
						what,
						() => {
							const rows = read();
							return rows.length ? rows : undefined;
						},
						ms,
					);
				const orderNumber = await input.sheet.writeSheet();
				await executeSheet();
				const subject = 'Approve 1 refund from refunds.csv, 20.00 THB in all?';
				await page.goto(`${input.mailUrl}?refresh=0`);
				await waitFor(
					'the approval email on the mail page',
					async () => {
						if ((await page.locator(`iframe[title="${subject}"]`).count()) > 0) return true;
						await page.reload();
						return undefined;
					},
					60_000,
				);
				assert(input.sheet.refunds(orderNumber) === 0, 'money moved before the approval');
				const article = page
					.locator('article', { has: page.locator(`iframe[title="${subject}"]`) })
					.last();
				const mail = page.frameLocator(`iframe[title="${subject}"]`).last();
				const approve = mail.getByRole('link', { name: /approve/i }).first();
				await approve.waitFor({ timeout: 15_000 });
				const text = await mail.locator('body').innerText();
				assert(
					text.includes(`Row 1: order ${orderNumber}, 20.00 THB`) &&
						(await mail.getByRole('link', { name: /decline/i }).count()) === 1,
					`the rendered email reads: ${text.slice(0, 300)}`,
				);
				await article.scrollIntoViewIfNeeded();
				const emailShot = join(input.artifactsDir, 'sheet-approval-email.png');
				await article.screenshot({ path: emailShot });
				// The order number and its refund number differ every run: a little more tolerance.
				docsImage('sheet-approval-email.png', emailShot, 0.05);
				// The link opens in a new tab, as in a mail app. n8n shows bots (its user agent test counts
				// "HeadlessChrome") an empty page: the tab introduces itself as a person's browser would.
				const userAgent = (await page.evaluate('navigator.userAgent')) as string;
				await page
					.context()
					.setExtraHTTPHeaders({ 'user-agent': userAgent.replace('HeadlessChrome', 'Chrome') });
				let said = '';
				try {
					const [tab] = await Promise.all([page.context().waitForEvent('page'), approve.click()]);
					await tab.waitForLoadState();
					await waitFor(
						'the refund',
						() => (input.sheet.refunds(orderNumber) === 1 ? true : undefined),
						60_000,
					);
					await screenshot(tab, 'sheet-approved');
					said = ((await tab.locator('body').innerText()) ?? '').replace(/\s+/g, ' ').trim();
				} finally {
					// The next steps see the browser as before, whatever happened here.
					for (const other of page.context().pages()) if (other !== page) await other.close();
					await page.context().setExtraHTTPHeaders({});
				}
				const results = await written('refund-results.csv', input.sheet.results, 30_000);
				assert(
					results.length === 1 &&
						results[0].status === 'refunded' &&
						results[0].orderNumber === orderNumber,
					`refund-results.csv: ${JSON.stringify(results)}`,
				);
				// Execute again: every row refunded already, so the run ends without asking anyone or refunding.
				const mails = input.sheet.approvalMails();
				rmSync(join(input.filesDir, 'refund-preview.csv'), { force: true });
				await executeSheet();
				const again = await written(
					"the second run's refund-preview.csv",
					input.sheet.preview,
					60_000,
				);
				await page.waitForTimeout(3000);
				assert(
					again.length === 1 && again[0].status === 'already refunded',
					`the second run's preview: ${JSON.stringify(again)}`,
				);
				assert(input.sheet.approvalMails() === mails, 'the second run asked the manager');
				assert(input.sheet.refunds(orderNumber) === 1, 'the second run refunded');
				await collectToasts(page, 'the refund sheet run again');
				await screenshot(page, 'sheet-run-again');
				return `"${subject}" rendered with its buttons; Approve → "${said.slice(0, 60)}"; ${orderNumber} refunded once; run again: "already refunded", nobody asked`;
			},
		);

		await step(
			"browser: the sell-in-chat run in Executions: Create QR's output shows the QR image, which decodes to a PromptPay payload for the order's amount (README picture); the mail page shows the customer's email with the same QR",
			async () => {
				await page.goto(`${input.editorUrl}/workflow/${input.chatQrWorkflow}/executions`);
				// The executions view opens the newest run: the chat order receiptSteps posted.
				await page.waitForURL(/\/executions\/\d+/, { timeout: 30_000 });
				await closeChecklist(page);
				// 1.x shows the run in a frame of its own (its workflow preview), 2.x in the page.
				await page
					.locator('[data-test-id="canvas-node"], iframe')
					.first()
					.waitFor({ timeout: 30_000 });
				const run = (await page.locator('iframe').count())
					? page.frameLocator('iframe').first()
					: page;
				const node = run.locator('[data-test-id="canvas-node"]', { hasText: 'Create QR' });
				await node.waitFor({ timeout: 30_000 });
				await node.dblclick();
				const binaryTab = run.locator('[data-test-id="radio-button-binary"]');
				await binaryTab.waitFor({ timeout: 15_000 });
				await binaryTab.click();
				const card = run.locator('[data-test-id="ndv-binary-data_0"]');
				await card.waitFor({ timeout: 15_000 });
				const cardText = (await card.innerText()).replace(/\s+/g, ' ');
				assert(
					/ksher-qr-CHAT-\S+\.png/.test(cardText) && cardText.includes('image/png'),
					`the binary card shows "${cardText}"`,
				);
				await run.locator('[data-test-id="ndv-view-binary-data"]').first().click();
				// 2.x loads the file from n8n's binary-data endpoint, 1.x shows it as a data URL.
				const image = run.locator('img[src*="binary-data"], img[src^="data:image/png"]').first();
				await image.waitFor({ timeout: 15_000 });
				await waitFor('the QR image to load', async () =>
					(await image.evaluate(
						(img) => (img as unknown as { naturalWidth: number }).naturalWidth,
					)) > 0
						? true
						: undefined,
				);
				const payload = decodeQr(await image.screenshot());
				const fields = payload ? parseEmvPayload(payload) : 'not decodable';
				assert(
					typeof fields !== 'string' && fields.get('54') === '89.00',
					`the image n8n shows decodes to ${String(payload)}`,
				);
				// The QR differs with every order (Ksher's order number is in it): a little more tolerance.
				docsImage('qr-in-n8n.png', await screenshot(page, 'qr-in-n8n'), 0.05);
				await collectToasts(page, "Create QR's output");
				await page.keyboard.press('Escape');
				// The customer's email on the mail page, rendered as a mail app shows it: the same QR.
				await page.goto(`${input.mailUrl}?refresh=0`);
				const mail = page.frameLocator('iframe[title^="Scan to pay order CHAT-"]').first();
				const mailed = mail.locator('img').first();
				await mailed.waitFor({ timeout: 15_000 });
				await waitFor('the emailed QR to load', async () =>
					(await mailed.evaluate(
						(img) => (img as unknown as { naturalWidth: number }).naturalWidth,
					)) > 0
						? true
						: undefined,
				);
				// The image the email shows (its inline PNG, as a data URL in the rendered email).
				const src = (await mailed.getAttribute('src')) ?? '';
				assert(
					src.startsWith('data:image/png;base64,'),
					`the email's image is ${src.slice(0, 60)}`,
				);
				const emailed = decodeQr(Buffer.from(src.slice(src.indexOf(',') + 1), 'base64'));
				assert(emailed === payload, `the QR in the email decodes to ${String(emailed)}`);
				await screenshot(page, 'qr-email');
				return `${cardText.slice(0, 80)}; shown image → ${payload!.slice(0, 24)}…54=89.00; the email's QR the same`;
			},
		);

		await step(
			"browser: a Ksher node's panel switched from Payment → Create to Refund → Create shows an empty Refund Amount",
			async () => {
				await page.goto(`${input.editorUrl}/workflow/${input.panelWorkflow}`);
				const node = page.locator('[data-test-id="canvas-node"]', { hasText: 'Create Payment' });
				await node.waitFor({ timeout: 30_000 });
				await node.dblclick();
				const amount = page.locator('[data-test-id="parameter-input-amount"] input');
				await amount.waitFor({ timeout: 15_000 });
				const paymentAmount = await amount.inputValue();
				assert(paymentAmount === '150.50', `Payment → Create's Amount shows "${paymentAmount}"`);
				await screenshot(page, 'panel-payment-create');
				await page.locator('[data-test-id="parameter-input-resource"]').click();
				await page.locator('.el-select-dropdown__item:visible', { hasText: /^Refund$/ }).click();
				await page
					.locator('.el-select-dropdown__item:visible')
					.first()
					.waitFor({ state: 'hidden' });
				const operation = await page
					.locator('[data-test-id="parameter-input-operation"] input')
					.inputValue();
				assert(operation === 'Create', `the operation shows "${operation}"`);
				const refundAmount = page.locator('[data-test-id="parameter-input-refundAmount"] input');
				await refundAmount.waitFor({ timeout: 15_000 });
				const value = await refundAmount.inputValue();
				assert(
					value === '',
					`Refund Amount came up as "${value}" (the payment's Amount must not carry over into a refund)`,
				);
				const what = await page
					.locator('[data-test-id="parameter-input-whatToRefund"] input')
					.inputValue();
				assert(
					what === 'An Amount',
					`What to Refund shows "${what}" (a new node must start on An Amount)`,
				);
				const panelText = await page.locator('body').innerText();
				for (const label of [
					'What to Refund',
					'Refund Amount',
					'Refund Number',
					'Preview Only',
					'Check All Rows First',
					'Stop Above Total',
				])
					assert(panelText.includes(label), `the panel lacks "${label}"`);
				await collectToasts(page, 'the Refund → Create panel');
				await screenshot(page, 'panel-refund-create');
				return 'Amount 150.50 → What to Refund "An Amount", Refund Amount empty';
			},
		);

		await step(
			'browser: the watch example as the README tells it: import the file, save, pick the Data Table in each table node, run; the refund email arrives',
			async () => {
				await page.goto(`${input.editorUrl}/workflow/new`);
				await page.locator('input[type=file]').first().setInputFiles(input.watch.exampleFile);
				await page
					.locator('[data-test-id="canvas-node"]', { hasText: 'Store New State' })
					.waitFor({ timeout: 30_000 });
				// n8n 1.x lists Data Tables only for a saved workflow: save first, as the README says.
				await page.keyboard.press('Control+s');
				await page.waitForTimeout(1500);
				for (const [name, table] of [
					['Watched Orders', input.watch.tables.orders],
					['Store New State', input.watch.tables.orders],
					['Customer Not Told Yet', input.watch.tables.refunds],
					['No Refund Recorded', input.watch.tables.refunds],
					['Customer Not Told Of Any Refund', input.watch.tables.refunds],
					['But One Is Recorded', input.watch.tables.refunds],
					['Mark Customer Told', input.watch.tables.refunds],
					['Record Refund', input.watch.tables.refunds],
				]) {
					await page.locator('[data-test-id="canvas-node"]', { hasText: name }).dblclick();
					await page.getByPlaceholder('Choose...').first().click();
					await page.locator('[data-test-id="rlc-item"]', { hasText: table }).first().click();
					await page.waitForTimeout(800);
					if (name === 'Store New State') await screenshot(page, 'watch-table-picked');
					await page.keyboard.press('Escape');
					await page.waitForTimeout(400);
				}
				await page.keyboard.press('Control+s');
				await page.waitForTimeout(1500);
				const orderNumber = await input.watch.refundedOrder();
				await page
					.locator('[data-test-id="execute-workflow-button"]')
					.first()
					.click({ force: true });
				const subject = `Refund for order ${orderNumber}`;
				await waitFor(
					'the refund email',
					() => (input.watch.mailSubjects().includes(subject) ? true : undefined),
					60_000,
				);
				await page.waitForTimeout(1000);
				await collectToasts(page, 'the imported watch workflow');
				await screenshot(page, 'watch-run');
				return `"${subject}" after import, save, five table picks and a run`;
			},
		);

		await step(
			'browser: no error shown to the user, none from our nodes, no request beyond this machine',
			async () => {
				// n8n's editor (1.x and 2.x) looks a community package up on npm when its panel is opened in the
				// node search (to show its version and downloads; the node-search step opens it to read the
				// trigger's events); refused here, reported, and nothing else allowed.
				const npmLookup = (href: string) => href === 'https://registry.npmjs.org/n8n-nodes-ksher';
				// n8n's own answer page to an approval link ("Action recorded") links Google's Open Sans font;
				// refused here like everything else, and allowed in this list alone.
				const approvalPageFont = (href: string) =>
					href === 'https://fonts.googleapis.com/css?family=Open+Sans';
				const unexpected = outside.filter((href) => !npmLookup(href) && !approvalPageFont(href));
				assert(
					unexpected.length === 0,
					`requests to outside hosts (refused): ${[...new Set(unexpected)].slice(0, 5).join(', ')}`,
				);
				const lookedUp = outside.some(npmLookup)
					? "; n8n's editor asked npm about the package (refused)"
					: '';
				assert(
					errorToasts.length === 0,
					`error notifications: ${errorToasts.slice(0, 3).join(' | ')}`,
				);
				const ours = pageErrors.filter((e) => /ksher/i.test(e));
				assert(ours.length === 0, `page errors from our nodes: ${ours.slice(0, 3).join(' | ')}`);
				// n8n's own editor may throw where the user sees nothing (1.123: its version check reads
				// settings that are not loaded yet right after sign-in); reported, not ours to fix.
				const theirs = pageErrors.length
					? `; n8n's own page errors (no message shown): ${[...new Set(pageErrors)].slice(0, 2).join(' | ')}`
					: '';
				return `${shot} screenshots in ${input.artifactsDir}${docsImages.length ? `; ${docsImages.join(', ')}` : ''}${theirs}${lookedUp}`;
			},
		);
	} finally {
		await browser?.close().catch(() => undefined);
	}
}
