// Uploads FILE to an evidenced instance with tus-js-client and prints the
// Evidence-Id the completing PATCH answered, as JSON on stdout.
//
//   node upload.js URL TOKEN FILE [CHUNK_SIZE]
// URL is the daemon's base (http://127.0.0.1:PORT); TOKEN an officer's bearer token.
// Also reads EVIDENCE_SERVER / EVIDENCE_TOKEN when arguments are missing.
'use strict';

const fs = require('fs');
const path = require('path');
const tus = require('tus-js-client');

const [, , urlArg, tokenArg, file, chunkArg] = process.argv;
const server = urlArg || process.env.EVIDENCE_SERVER;
const token = tokenArg || process.env.EVIDENCE_TOKEN;
if (!server || !token || !file) {
  console.error('usage: node upload.js URL TOKEN FILE [CHUNK_SIZE]');
  process.exit(2);
}

const size = fs.statSync(file).size;
let evidenceId = null;
let uploadUrl = null;

const upload = new tus.Upload(fs.createReadStream(file), {
  endpoint: server + '/api/v1/uploads',
  uploadSize: size,
  chunkSize: chunkArg ? Number(chunkArg) : Infinity,
  retryDelays: [0, 500, 1000],
  headers: { Authorization: 'Bearer ' + token },
  metadata: {
    officer: 'Officer Tus',
    device: 'tus-js-client',
    recorded_at: '2026-11-27T09:30:00Z',
    filename: path.basename(file),
  },
  onAfterResponse(req, res) {
    const id = res.getHeader('Evidence-Id');
    if (id) evidenceId = id;
  },
  onError(err) {
    console.error('upload failed: ' + err);
    process.exit(1);
  },
  onSuccess() {
    uploadUrl = upload.url;
    console.log(JSON.stringify({ evidence_id: evidenceId, upload_url: uploadUrl, size }));
    process.exit(evidenceId ? 0 : 1);
  },
});
upload.start();
