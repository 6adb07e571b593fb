import { spawn, spawnSync, type ChildProcess } from 'child_process';
import {
	chmodSync,
	chownSync,
	copyFileSync,
	createWriteStream,
	existsSync,
	mkdirSync,
	mkdtempSync,
	rmSync,
	writeFileSync,
} from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';

import { freePort, stopChild } from './n8n';

/**
 * PostgreSQL and Redis for n8n's queue mode, started on 127.0.0.1 in the run's own folder
 * and stopped with it. PostgreSQL 15 comes with the machine image (Debian's postgresql-15);
 * Redis is Debian's redis-server, installed here when missing (CI runs as root on a fresh machine).
 */
const log = (line: string) => process.stderr.write(`[e2e] ${line}\n`);

function sh(cmd: string, args: string[], options: { user?: string; cwd?: string } = {}): string {
	const [file, argv] =
		options.user && process.getuid?.() === 0
			? ['runuser', ['-u', options.user, '--', cmd, ...args]]
			: [cmd, args];
	const result = spawnSync(file, argv, { cwd: options.cwd, encoding: 'utf8' });
	if (result.status !== 0)
		throw new Error(
			`${cmd} ${args.join(' ')} failed (${result.status}): ${(result.stderr || result.stdout || String(result.error)).slice(-800)}`,
		);
	return result.stdout;
}

const onPath = (cmd: string) =>
	spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).status === 0;

/** A Debian package's command, installed with apt-get when missing (CI runs as root on a fresh machine). */
export function ensureDebianCommand(cmd: string, pkg = cmd): string {
	if (onPath(cmd)) return cmd;
	if (process.getuid?.() !== 0)
		throw new Error(`${cmd} is missing; install Debian's ${pkg} package (apt-get install ${pkg})`);
	log(`installing Debian's ${pkg} (apt-get)…`);
	const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
	for (const args of [
		['update', '-qq'],
		['install', '-y', '-qq', '--no-install-recommends', pkg],
	]) {
		const r = spawnSync('apt-get', args, { encoding: 'utf8', env });
		if (r.status !== 0)
			throw new Error(`apt-get ${args.join(' ')} failed: ${(r.stderr || r.stdout).slice(-800)}`);
	}
	return cmd;
}

export function ensureRedisInstalled(): string {
	return ensureDebianCommand('redis-server');
}

export function postgresBinDir(): string {
	if (onPath('pg_config')) {
		const dir = sh('pg_config', ['--bindir']).trim();
		if (existsSync(join(dir, 'initdb'))) return dir;
	}
	for (const v of ['17', '16', '15'])
		if (existsSync(`/usr/lib/postgresql/${v}/bin/initdb`)) return `/usr/lib/postgresql/${v}/bin`;
	throw new Error("PostgreSQL (initdb, pg_ctl) is missing; install Debian's postgresql package");
}

export interface Service {
	port: number;
	stop: () => Promise<void>;
	/** Stops it as a crash would (no clean shutdown), waits `downMs`, and starts it again on the same port. */
	bounce: (downMs: number) => Promise<void>;
}

export async function startRedis(dir: string): Promise<Service> {
	const bin = ensureRedisInstalled();
	mkdirSync(dir, { recursive: true });
	const port = await freePort();
	const out = createWriteStream(join(dir, 'redis.log'));
	// No persistence, as n8n's guide sets Redis up for the queue: a restart empties it.
	const run = () => {
		const proc: ChildProcess = spawn(
			bin,
			[
				'--port',
				String(port),
				'--bind',
				'127.0.0.1',
				'--save',
				'',
				'--appendonly',
				'no',
				'--dir',
				dir,
			],
			{ stdio: ['ignore', 'pipe', 'pipe'] },
		);
		proc.stdout?.pipe(out, { end: false });
		proc.stderr?.pipe(out, { end: false });
		return proc;
	};
	let child = run();
	await waitForPort(port, 'redis');
	return {
		port,
		stop: () => stopChild(child),
		bounce: async (downMs) => {
			const exited = new Promise((r) => child.once('exit', r));
			child.kill('SIGKILL');
			await exited;
			await new Promise((r) => setTimeout(r, downMs));
			child = run();
			await waitForPort(port, 'redis');
		},
	};
}

export interface Postgres extends Service {
	database: string;
	user: string;
	password: string;
}

/** A throw-away cluster in a temp folder of its own (the postgres user must be able to reach it). */
export async function startPostgres(): Promise<Postgres & { dir: string }> {
	const bin = postgresBinDir();
	const dir = mkdtempSync(join(tmpdir(), 'ksher-e2e-pg-'));
	const data = join(dir, 'data');
	const socket = join(dir, 'socket');
	mkdirSync(socket, { recursive: true });
	// initdb refuses to run as root: the cluster belongs to the postgres user.
	const asRoot = process.getuid?.() === 0;
	if (asRoot) {
		const pg = sh('id', ['-u', 'postgres']).trim();
		const gid = sh('id', ['-g', 'postgres']).trim();
		chmodSync(dir, 0o755);
		chownSync(dir, Number(pg), Number(gid));
		chownSync(socket, Number(pg), Number(gid));
	}
	const user = asRoot ? 'postgres' : undefined;
	const port = await freePort();
	const password = 'ksher-e2e-password';
	writeFileSync(join(dir, 'pw'), 'postgres\n');
	if (asRoot)
		chownSync(
			join(dir, 'pw'),
			Number(sh('id', ['-u', 'postgres']).trim()),
			Number(sh('id', ['-g', 'postgres']).trim()),
		);
	sh(
		join(bin, 'initdb'),
		[
			'-D',
			data,
			'-U',
			'postgres',
			'--auth-local=trust',
			'--auth-host=scram-sha-256',
			`--pwfile=${join(dir, 'pw')}`,
			'-E',
			'UTF8',
			'--no-instructions',
		],
		{ user },
	);
	const start = () =>
		sh(
			join(bin, 'pg_ctl'),
			[
				'-D',
				data,
				'-l',
				join(dir, 'postgres.log'),
				'-w',
				'-t',
				'60',
				'-o',
				`-p ${port} -k ${socket} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200${pgLogOptions()}`,
				'start',
			],
			{ user },
		);
	start();
	const psql = (sql: string) =>
		sh(
			join(bin, 'psql'),
			['-h', socket, '-p', String(port), '-U', 'postgres', '-v', 'ON_ERROR_STOP=1', '-c', sql],
			{ user },
		);
	psql(`CREATE USER n8n WITH PASSWORD '${password}'`);
	psql('CREATE DATABASE n8n OWNER n8n');
	if (process.env.KSHER_E2E_PG_LOG)
		sh(
			join(bin, 'psql'),
			[
				'-h',
				socket,
				'-p',
				String(port),
				'-U',
				'postgres',
				'-d',
				'n8n',
				'-c',
				'CREATE EXTENSION pg_stat_statements',
			],
			{ user },
		);
	return {
		dir,
		port,
		database: 'n8n',
		user: 'n8n',
		password,
		stop: async () => {
			spawnSync(
				asRoot ? 'runuser' : join(bin, 'pg_ctl'),
				asRoot
					? ['-u', 'postgres', '--', join(bin, 'pg_ctl'), '-D', data, '-m', 'fast', '-w', 'stop']
					: ['-D', data, '-m', 'fast', '-w', 'stop'],
				{ encoding: 'utf8' },
			);
			if (process.env.KSHER_E2E_PG_LOG) {
				const kept = join(tmpdir(), `ksher-e2e-postgres-${Date.now()}.log`);
				copyFileSync(join(dir, 'postgres.log'), kept);
				process.stderr.write(`[e2e] PostgreSQL's log kept: ${kept}\n`);
			}
			rmSync(dir, { recursive: true, force: true });
		},
		bounce: async (downMs) => {
			// "immediate": every connection cut, no checkpoint, as a crash or a failover does.
			sh(join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop'], { user });
			await new Promise((r) => setTimeout(r, downMs));
			start();
		},
	};
}

/**
 * KSHER_E2E_PG_LOG=1: every statement that changes data, any statement slower than 100 ms and every lock
 * waited on for more than 100 ms go to the cluster's postgres.log (the evidence behind docs/performance.md's
 * queue-mode figures); KSHER_E2E_PG_LOG=slow: only the slow statements and the lock waits. Either way the
 * n8n database gets pg_stat_statements, so that a run can count the statements each request costs.
 */
function pgLogOptions(): string {
	const mode = process.env.KSHER_E2E_PG_LOG;
	if (!mode) return '';
	const slow =
		' -c log_min_duration_statement=100 -c log_lock_waits=on -c deadlock_timeout=100ms -c log_line_prefix=%m[%p]%a: -c shared_preload_libraries=pg_stat_statements';
	return mode === 'slow' ? slow : `${slow} -c log_statement=mod`;
}

async function waitForPort(port: number, what: string): Promise<void> {
	const { connect } = await import('net');
	const started = Date.now();
	for (;;) {
		const open = await new Promise<boolean>((resolve) => {
			const socket = connect(port, '127.0.0.1', () => {
				socket.end();
				resolve(true);
			});
			socket.on('error', () => resolve(false));
		});
		if (open) return;
		if (Date.now() - started > 30_000)
			throw new Error(`${what} did not listen on ${port} within 30 s`);
		await new Promise((r) => setTimeout(r, 100));
	}
}
