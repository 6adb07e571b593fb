import { createServer, type Server } from 'http';
import type { AddressInfo, Socket } from 'net';

import { keepBook, loadBook } from './book';
import { handleControl } from './control';
import { sendJson } from './http';
import { API_ENDPOINTS, GATEWAY_ENDPOINTS, handleProtocol } from './ksherApi';
import { handlePages } from './pages';
import type { DeliveryAttempt, Order } from './state';
import { World } from './world';

export { RETRY_SCHEDULE_S } from './notifications';

/**
 * A local Ksher Gateway Pay on 127.0.0.1: the protocol endpoints (ksherApi.ts), notifications
 * with Ksher's retry schedule (notifications.ts), the control API (control.ts) and the payer's
 * pages (pages.ts, checkout.ts), all working on one World (world.ts).
 */

export interface SimulatorOptions {
	port?: number;
	host?: string;
	/** Multiplies every retry delay: 0.001 runs Ksher's 29-hour schedule in about 2 minutes. */
	timeScale?: number;
	/** Multiplies `expire_time` (minutes), separately from the retry schedule (default 1). */
	expiryScale?: number;
	/** Folder to load/keep the keys in, so a demo keeps working across restarts. */
	keysDir?: string;
	/** File to load/keep the book in (orders, refunds, clock, account settings), so a demo's world outlives a restart. */
	bookFile?: string;
	appid?: string;
	/** Bits of the generated merchant keys (Ksher's real merchant keys are 1024-bit). */
	keyBits?: number;
	/** Bits of the simulator's own "Ksher" key (Ksher's real V1 key is 512-bit). */
	ksherKeyBits?: number;
	log?: (line: string) => void;
}

export interface SimulatorInfo {
	gatewayUrl: string;
	apiUrl: string;
	controlUrl: string;
	checkoutUrl: string;
	appid: string;
	merchantPrivateKey: string;
	ksherPublicKey: string;
}

export interface Simulator {
	info: SimulatorInfo;
	/** Registers (or replaces) a merchant; generates its key pair unless a public key is given. */
	addMerchant(appid: string, publicKeyPem?: string): { appid: string; merchantPrivateKey?: string };
	order(mchOrderNo: string, appid?: string, kind?: 'qr' | 'gateway'): Order | undefined;
	/** In-process only (never over HTTP): a notification envelope signed with the simulator's Ksher key, for tests. */
	signedNotification(data: Record<string, unknown>): string;
	deliveries: DeliveryAttempt[];
	/** Protocol requests being handled right now, and the most at once since start or reset. */
	stats: { inFlight: number; peakInFlight: number };
	requests: Array<{ endpoint: string; params: Record<string, string>; at: string }>;
	close(): Promise<void>;
}

export async function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
	const host = options.host ?? '127.0.0.1';
	const world = new World({
		timeScale: options.timeScale ?? 1,
		expiryScale: options.expiryScale ?? 1,
		keysDir: options.keysDir,
		appid: options.appid ?? 'mch20001',
		keyBits: options.keyBits ?? 1024,
		ksherKeyBits: options.ksherKeyBits ?? 512,
		log: options.log ?? (() => undefined),
	});
	const stopKeeping = options.bookFile
		? (loadBook(world, options.bookFile), keepBook(world, options.bookFile))
		: undefined;

	const sockets = new Set<Socket>();
	const server: Server = createServer((req, res) => {
		const path = new URL(req.url ?? '/', 'http://x').pathname;
		const run = async () => {
			const [, first, rest] = /^\/([^/]*)(\/.*)?$/.exec(path) ?? [];
			const endpoint = rest?.slice(1) ?? '';
			if (
				(first === 'api' && GATEWAY_ENDPOINTS.includes(endpoint)) ||
				(first === 'KsherPay' && API_ENDPOINTS.includes(endpoint))
			) {
				world.stats.inFlight++;
				world.stats.peakInFlight = Math.max(world.stats.peakInFlight, world.stats.inFlight);
				return handleProtocol(world, req, res, endpoint).finally(() => world.stats.inFlight--);
			}
			if (first === 'control') return handleControl(world, req, res, rest ?? '/');
			if (first === 'page') return handlePages(world, req, res, path);
			if (path === '/')
				return sendJson(res, 200, { simulator: 'Ksher Gateway Pay', ...publicInfo() });
			return sendJson(res, 404, { code: 1, msg: 'NOT_FOUND', message: `no endpoint ${path}` });
		};
		run().catch((error: Error) => {
			if (!res.headersSent) sendJson(res, 400, { error: error.message });
			else res.destroy();
		});
	});
	server.on('connection', (socket) => {
		sockets.add(socket);
		socket.on('close', () => sockets.delete(socket));
	});
	await new Promise<void>((resolve, reject) => {
		server.once('error', reject);
		server.listen(options.port ?? 0, host, () => resolve());
	});
	const { port } = server.address() as AddressInfo;
	world.baseUrl = `http://${host}:${port}`;

	const publicInfo = (): SimulatorInfo => ({
		gatewayUrl: `${world.baseUrl}/api`,
		apiUrl: `${world.baseUrl}/KsherPay`,
		controlUrl: `${world.baseUrl}/control`,
		checkoutUrl: `${world.baseUrl}/page`,
		appid: world.defaultAppid,
		merchantPrivateKey: world.keys.merchantPrivatePem,
		ksherPublicKey: world.ksherPublicPem,
	});

	return {
		info: publicInfo(),
		addMerchant: (appid, publicKeyPem) => world.addMerchant(appid, publicKeyPem),
		order: (no, appid, kind?: 'qr' | 'gateway') => world.findOrder(no, appid, kind),
		signedNotification: (data) =>
			JSON.stringify({
				code: 0,
				msg: '操作成功',
				data,
				sign: world.sign(data, 'mch_notify_url'),
				message: '操作成功',
			}),
		deliveries: world.deliveries,
		stats: world.stats,
		requests: world.requests,
		close: async () => {
			world.closing = true;
			stopKeeping?.();
			for (const t of world.timers) clearTimeout(t);
			world.timers.clear();
			for (const s of sockets) s.destroy();
			await new Promise<void>((resolve) => server.close(() => resolve()));
		},
	};
}
