// Uploads FILE through tus with tus-js-client (node), timing start to success.
//   node tus_upload.mjs ENDPOINT FILE [TOKEN]
// Env: TUS_CHUNK_MIB (default 256; 0 = one PATCH for the whole file).
// Prints "seconds=S url=URL".
import fs from 'node:fs';
import * as tus from 'tus-js-client';

const [endpoint, file, token] = process.argv.slice(2);
const size = fs.statSync(file).size;
const chunkMib = Number(process.env.TUS_CHUNK_MIB ?? 256);
const headers = token ? { Authorization: `Bearer ${token}` } : {};
const t0 = process.hrtime.bigint();
const upload = new tus.Upload(fs.createReadStream(file), {
  endpoint,
  uploadSize: size,
  chunkSize: chunkMib > 0 ? chunkMib * 1024 * 1024 : Infinity,
  headers,
  retryDelays: [],
  metadata: { officer: 'bench', device: 'cam-1', filename: 'bench.bin' },
  onError(err) {
    console.error(`tus_upload: ${err}`);
    process.exit(1);
  },
  onSuccess() {
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    console.log(`seconds=${s.toFixed(4)} url=${upload.url}`);
  },
});
upload.start();
