import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'fs';
import { createServer as createHttpServer, type Server as HttpServer } from 'http';
import { createServer, type Server, type Socket } from 'net';
import type { AddressInfo } from 'net';
import { join } from 'path';

import { simpleParser } from 'mailparser';

/** One message as received: envelope, headers and the (unfolded, decoded-enough) text. */
export interface ReceivedMail {
	id: number;
	from: string;
	to: string[];
	subject: string;
	raw: string;
	text: string;
	at: string;
	/**
	 * An HTML email's body as it renders, its inline images (`cid:`) as data URLs; set shortly after
	 * the email arrives (parsed by mailparser), absent for a text email.
	 */
	html?: string;
}

/** An HTML email's body with its inline images (cid:) in it, or undefined for a text email. */
async function renderedHtml(raw: string): Promise<string | undefined> {
	const parsed = await simpleParser(raw);
	if (typeof parsed.html !== 'string') return undefined;
	let html = parsed.html;
	for (const a of parsed.attachments)
		if (a.cid)
			html = html.replaceAll(
				`cid:${a.cid}`,
				`data:${a.contentType};base64,${a.content.toString('base64')}`,
			);
	return html;
}

export interface SmtpSink {
	host: string;
	port: number;
	/** A small web page listing what arrived (for the demo). */
	viewerUrl: string;
	mails: ReceivedMail[];
	close: () => Promise<void>;
}

function decodeQuotedPrintable(body: string): string {
	return Buffer.from(
		body
			.replace(/=\r?\n/g, '')
			.replace(/=([0-9A-F]{2})/gi, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16))),
		'latin1',
	).toString('utf8');
}

/** Readable text of a MIME message: good enough to find an order number and an amount in it. */
export function mailText(raw: string): string {
	const parts = raw.split(/\r?\n\r?\n/);
	const body = parts.slice(1).join('\n\n');
	let text = /quoted-printable/i.test(raw) ? decodeQuotedPrintable(body) : body;
	const base64Blocks =
		raw.match(
			/Content-Transfer-Encoding: base64\r?\n(?:[^\r\n]+\r?\n)*\r?\n([A-Za-z0-9+/=\r\n]+)/gi,
		) ?? [];
	for (const block of base64Blocks) {
		const data = block.split(/\r?\n\r?\n/).pop() ?? '';
		text += `\n${Buffer.from(data.replace(/\s+/g, ''), 'base64').toString('utf8')}`;
	}
	return text;
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * A local SMTP sink (RFC 5321 subset, no TLS, any AUTH accepted) so that n8n's Send
 * Email node really sends and nothing leaves the machine. Messages are kept in memory
 * and, when `dir` is given, written there as .eml files.
 */
export async function startSmtpSink(
	options: { dir?: string; host?: string; viewerPort?: number } = {},
): Promise<SmtpSink> {
	const host = options.host ?? '127.0.0.1';
	const mails: ReceivedMail[] = [];
	if (options.dir) {
		mkdirSync(options.dir, { recursive: true });
		// The mails an earlier start received (the demo's .demo/mail/): shown again, and numbered on from.
		for (const file of readdirSync(options.dir)
			.filter((f) => /^\d+\.eml$/.test(f))
			.sort()) {
			const raw = readFileSync(join(options.dir, file), 'utf8');
			const header = (name: string) =>
				new RegExp(`^${name}: (.*)$`, 'im').exec(raw.split(/\r?\n\r?\n/)[0])?.[1] ?? '';
			const mail: ReceivedMail = {
				id: mails.length + 1,
				from: header('From'),
				to: header('To')
					.split(',')
					.map((address) => address.trim())
					.filter(Boolean),
				subject: header('Subject'),
				raw,
				text: mailText(raw),
				at: statSync(join(options.dir, file)).mtime.toISOString(),
			};
			mails.push(mail);
			void renderedHtml(raw).then(
				(html) => (mail.html = html),
				() => undefined,
			);
		}
	}
	const sockets = new Set<Socket>();

	const server: Server = createServer((socket) => {
		sockets.add(socket);
		socket.on('close', () => sockets.delete(socket));
		socket.setEncoding('utf8');
		let buffer = '';
		let inData = false;
		let authStep: '' | 'login-user' | 'login-pass' | 'plain' = '';
		let from = '';
		let to: string[] = [];
		const reply = (line: string) => socket.write(`${line}\r\n`);
		reply('220 ksher-e2e-smtp ESMTP ready');
		socket.on('data', (chunk: string) => {
			buffer += chunk;
			for (;;) {
				if (inData) {
					const end = buffer.indexOf('\r\n.\r\n');
					if (end < 0) return;
					const raw = buffer.slice(0, end).replace(/^\.\./gm, '.');
					buffer = buffer.slice(end + 5);
					inData = false;
					const subject = /^Subject: (.*)$/im.exec(raw)?.[1] ?? '';
					const mail: ReceivedMail = {
						id: mails.length + 1,
						from,
						to,
						subject,
						raw,
						text: mailText(raw),
						at: new Date().toISOString(),
					};
					mails.push(mail);
					void renderedHtml(raw).then(
						(html) => (mail.html = html),
						() => undefined,
					);
					if (options.dir)
						writeFileSync(join(options.dir, `${String(mail.id).padStart(4, '0')}.eml`), raw);
					reply(`250 OK queued as ${mail.id}`);
					continue;
				}
				const nl = buffer.indexOf('\r\n');
				if (nl < 0) return;
				const line = buffer.slice(0, nl);
				buffer = buffer.slice(nl + 2);
				if (authStep === 'login-user') {
					authStep = 'login-pass';
					reply('334 UGFzc3dvcmQ6');
					continue;
				}
				if (authStep === 'login-pass' || authStep === 'plain') {
					authStep = '';
					reply('235 Authentication successful');
					continue;
				}
				const verb = line.split(' ')[0].toUpperCase();
				if (verb === 'EHLO')
					socket.write('250-ksher-e2e-smtp\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n');
				else if (verb === 'HELO') reply('250 ksher-e2e-smtp');
				else if (verb === 'AUTH') {
					const [, mech, initial] = line.split(' ');
					if (/^LOGIN$/i.test(mech)) {
						authStep = 'login-user';
						reply('334 VXNlcm5hbWU6');
					} else if (initial) reply('235 Authentication successful');
					else {
						authStep = 'plain';
						reply('334 ');
					}
				} else if (verb === 'MAIL') {
					from = /<([^>]*)>/.exec(line)?.[1] ?? '';
					to = [];
					reply('250 OK');
				} else if (verb === 'RCPT') {
					to.push(/<([^>]*)>/.exec(line)?.[1] ?? '');
					reply('250 OK');
				} else if (verb === 'DATA') {
					inData = true;
					reply('354 End data with <CR><LF>.<CR><LF>');
				} else if (verb === 'RSET') {
					from = '';
					to = [];
					reply('250 OK');
				} else if (verb === 'NOOP') reply('250 OK');
				else if (verb === 'QUIT') {
					reply('221 Bye');
					socket.end();
				} else reply('502 Command not implemented');
			}
		});
		socket.on('error', () => undefined);
	});
	await new Promise<void>((resolve) => server.listen(0, host, resolve));
	const viewer: HttpServer = createHttpServer((req, res) => {
		// ?refresh=0: no reload every 5 s (for a browser test reading a framed email).
		const refresh = /[?&]refresh=0\b/.test(req.url ?? '')
			? ''
			: '<meta http-equiv="refresh" content="5">';
		const rows = mails
			.slice()
			.reverse()
			.map(
				(m) =>
					`<article><h2>${escapeHtml(m.subject)}</h2><p><small>${escapeHtml(m.at)} · to ${escapeHtml(m.to.join(', '))}</small></p>${
						m.html === undefined
							? `<pre>${escapeHtml(m.text.slice(0, 4000))}</pre>`
							: // As a mail app shows it, sandboxed: no scripts, links open in a new tab (the approval email's buttons).
								`<iframe sandbox="allow-popups allow-popups-to-escape-sandbox" title="${escapeHtml(m.subject)}" srcdoc="${escapeHtml(`<base target="_blank">${m.html}`)}"></iframe>`
					}</article>`,
			)
			.join('\n');
		res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
		res.end(`<!doctype html><meta charset="utf-8">${refresh}<title>Received emails (${mails.length})</title>
<style>body{font-family:system-ui,sans-serif;max-width:50rem;margin:2rem auto;padding:0 1rem}article{border:1px solid #ddd;border-radius:.4rem;padding:0 1rem;margin:1rem 0}pre{white-space:pre-wrap}iframe{width:100%;height:24rem;border:0}</style>
<h1>Received emails (${mails.length})</h1>${rows || '<p>No email yet. Pay a checkout link and this page refreshes by itself.</p>'}`);
	});
	// A fixed viewer port (the demo's) keeps the links on earlier pages working across restarts.
	await new Promise<void>((resolve) => viewer.listen(options.viewerPort ?? 0, host, resolve));
	return {
		host,
		port: (server.address() as AddressInfo).port,
		viewerUrl: `http://${host}:${(viewer.address() as AddressInfo).port}/`,
		mails,
		close: async () => {
			for (const s of sockets) s.destroy();
			viewer.closeAllConnections();
			await Promise.all([new Promise((r) => server.close(r)), new Promise((r) => viewer.close(r))]);
		},
	};
}
