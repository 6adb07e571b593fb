import { startSimulator } from './server';

/** `npm run simulator -- --port 8866 [--keys .demo/keys] [--time-scale 0.001] [--appid mch20001] [--quiet]` */
function arg(name: string): string | undefined {
	const i = process.argv.indexOf(`--${name}`);
	return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main() {
	const port = Number(arg('port') ?? 8866);
	const timeScale = Number(arg('time-scale') ?? 1);
	if (!Number.isInteger(port) || port < 0 || port > 65535)
		throw new Error('--port must be 0..65535');
	if (!(timeScale > 0)) throw new Error('--time-scale must be a positive number');
	const quiet = process.argv.includes('--quiet');
	const simulator = await startSimulator({
		port,
		timeScale,
		keysDir: arg('keys'),
		appid: arg('appid'),
		log: quiet ? undefined : (line) => process.stderr.write(`[ksher-simulator] ${line}\n`),
	});
	// The first line of output is the machine-readable description; everything else goes to stderr.
	process.stdout.write(`${JSON.stringify(simulator.info)}\n`);
	process.stderr.write(
		`[ksher-simulator] listening: gateway ${simulator.info.gatewayUrl}, api ${simulator.info.apiUrl}, control ${simulator.info.controlUrl}\n`,
	);
	const stop = () => {
		void simulator.close().then(() => process.exit(0));
	};
	process.on('SIGINT', stop);
	process.on('SIGTERM', stop);
}

main().catch((error: Error) => {
	process.stderr.write(`ksher-simulator: ${error.message}\n`);
	process.exit(1);
});
