import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';

import { createTransport } from 'nodemailer';
import QRCode from 'qrcode';

import { startSmtpSink, type SmtpSink } from '../harness/smtp';

/**
 * The demo's and the e2e's mail page shows an HTML email as a mail app would (#31): rendered in a
 * sandboxed frame (no scripts; links open a new tab, so the approval email's buttons work), its
 * inline images (cid:, as Send Email attaches Create QR's PNG) in place; a text email as text.
 */
let sink: SmtpSink;
beforeAll(async () => {
	sink = await startSmtpSink();
});
afterAll(() => sink.close());

const send = (message: Record<string, unknown>) =>
	createTransport({ host: sink.host, port: sink.port, secure: false, ignoreTLS: true }).sendMail({
		from: 'shop@example.com',
		to: 'customer@example.com',
		...message,
	});

async function page(): Promise<string> {
	return await (await fetch(sink.viewerUrl)).text();
}

it('renders an HTML email sandboxed with its inline QR, and a text email as text', async () => {
	const png = await QRCode.toBuffer('00020101021230', { type: 'png' });
	await send({
		subject: 'Scan to pay order CHAT-1',
		html: '<p>Pay <b>89.00 THB</b>:</p><img src="cid:qr"><p><a href="http://127.0.0.1:5678/webhook-waiting/1?approved=true">Approve</a></p>',
		attachments: [{ filename: 'ksher-qr-CHAT-1.png', content: png, cid: 'qr' }],
	});
	await send({ subject: 'Receipt for order INV-1', text: 'Amount: 150.50 THB' });
	for (let i = 0; i < 100 && !(await page()).includes('data:image/png'); i++)
		await new Promise((r) => setTimeout(r, 20));
	const html = await page();
	const frame =
		/<iframe sandbox="allow-popups allow-popups-to-escape-sandbox" title="Scan to pay order CHAT-1" srcdoc="([^"]*)"><\/iframe>/.exec(
			html,
		);
	expect(frame).not.toBeNull();
	const inner = frame![1].replace(/&#(\d+);/g, (_m, c: string) => String.fromCharCode(Number(c)));
	expect(inner).toContain('<base target="_blank">');
	expect(inner).toContain(`src="data:image/png;base64,${png.toString('base64')}"`);
	expect(inner).not.toContain('cid:qr');
	expect(inner).toContain('href="http://127.0.0.1:5678/webhook-waiting/1?approved=true"');
	expect(html).not.toMatch(/allow-scripts|allow-same-origin/);
	expect(html).toMatch(/<h2>Receipt for order INV-1<\/h2>.*<pre>[^<]*Amount: 150.50 THB/s);
});

it('a restarted sink with the same folder shows the mails it had and numbers new ones after them (the demo keeps its mail)', async () => {
	const dir = mkdtempSync(join(tmpdir(), 'ksher-mail-'));
	try {
		const first = await startSmtpSink({ dir });
		await createTransport({
			host: first.host,
			port: first.port,
			secure: false,
			ignoreTLS: true,
		}).sendMail({
			from: 'shop@example.com',
			to: 'customer@example.com',
			subject: 'Receipt for order INV-1',
			text: 'Amount: 150.50 THB',
		});
		await first.close();
		const second = await startSmtpSink({ dir });
		try {
			expect(second.mails.map((m) => [m.id, m.subject, m.to])).toEqual([
				[1, 'Receipt for order INV-1', ['customer@example.com']],
			]);
			await createTransport({
				host: second.host,
				port: second.port,
				secure: false,
				ignoreTLS: true,
			}).sendMail({
				from: 'shop@example.com',
				to: 'customer@example.com',
				subject: 'Receipt for order INV-2',
				text: 'Amount: 89.00 THB',
			});
			expect(readdirSync(dir).sort()).toEqual(['0001.eml', '0002.eml']);
			expect(readFileSync(join(dir, '0001.eml'), 'utf8')).toContain('INV-1');
			const viewer = await (await fetch(second.viewerUrl)).text();
			expect(viewer).toContain('Receipt for order INV-1');
			expect(viewer).toContain('Receipt for order INV-2');
		} finally {
			await second.close();
		}
	} finally {
		rmSync(dir, { recursive: true, force: true });
	}
});
