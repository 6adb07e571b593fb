/** The rows of a small CSV file with a header line (quoted fields, doubled quotes), as the e2e writes and reads them. */
export function csvRows(text: string): Array<Record<string, string>> {
	const parseLine = (line: string) => {
		const out: string[] = [];
		let cur = '';
		let quoted = false;
		for (let i = 0; i < line.length; i++) {
			const c = line[i];
			if (quoted) {
				if (c === '"' && line[i + 1] === '"') {
					cur += '"';
					i++;
				} else if (c === '"') quoted = false;
				else cur += c;
			} else if (c === '"') quoted = true;
			else if (c === ',') {
				out.push(cur);
				cur = '';
			} else cur += c;
		}
		out.push(cur);
		return out;
	};
	const lines = text
		.replace(/^\uFEFF/, '')
		.split(/\r?\n/)
		.filter((l) => l !== '');
	const header = parseLine(lines[0]);
	return lines.slice(1).map((l) => Object.fromEntries(parseLine(l).map((v, i) => [header[i], v])));
}
