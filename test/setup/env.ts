import { mkdtempSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';

// n8n-core writes an instance config (encryption key) into the user folder on first use:
// keep it out of the developer's home directory.
process.env.N8N_USER_FOLDER ??= mkdtempSync(join(tmpdir(), 'ksher-n8n-'));
// The default expression engine needs isolated-vm, which has no build for Node 20.
process.env.N8N_EXPRESSION_ENGINE ??= 'legacy';
process.env.N8N_ENFORCE_SETTINGS_FILE_PERMISSIONS ??= 'false';
// n8n's own logger writes errors to the console; keep them in a file the leak checks can read.
process.env.N8N_LOG_OUTPUT ??= 'file';
process.env.N8N_LOG_FILE_LOCATION ??= join(process.env.N8N_USER_FOLDER, 'n8n.log');
