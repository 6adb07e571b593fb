'use strict';
// Preloaded into n8n (NODE_OPTIONS=--require) by the e2e: records every attempt to reach
// anything but this machine, so the run can prove that n8n stayed offline.
const fs = require('fs');
const net = require('net');
const dns = require('dns');

const file = process.env.KSHER_E2E_NETLOG;
const local = (host) =>
	!host ||
	host === 'localhost' ||
	/^127\./.test(host) ||
	host === '::1' ||
	host === '0.0.0.0' ||
	host.startsWith('/');
const record = (what, target) => {
	if (file && !local(String(target))) fs.appendFileSync(file, `${process.pid} ${what} ${target}\n`);
};

// Proof that the guard is in place in this process (the e2e checks it exists).
if (file) fs.appendFileSync(`${file}.loaded`, `${process.pid}\n`);

const connect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function patchedConnect(...args) {
	// Node calls connect with ([options, callback]) internally, or (options), or (port, host).
	const first = Array.isArray(args[0]) ? args[0][0] : args[0];
	const options =
		typeof first === 'object' && first !== null
			? first
			: { port: first, host: typeof args[1] === 'string' ? args[1] : undefined };
	if (!options.path && options.host !== undefined)
		record('connect', `${options.host}:${options.port}`);
	return connect.apply(this, args);
};
const lookup = dns.lookup;
dns.lookup = function patchedLookup(hostname, ...rest) {
	record('lookup', hostname);
	return lookup.call(this, hostname, ...rest);
};
