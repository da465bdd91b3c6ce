// The tus reference server as a peer for bench/run.sh: @tus/server with
// @tus/file-store writing into DIR, on 127.0.0.1:PORT (0: a free port).
//   node tus_server.mjs DIR PORT
// Prints "listening on http://127.0.0.1:PORT" once bound.
import http from 'node:http';
import { Server } from '@tus/server';
import { FileStore } from '@tus/file-store';

const [dir, port] = process.argv.slice(2);
const tus = new Server({ path: '/files', datastore: new FileStore({ directory: dir }) });
const srv = http.createServer((req, res) => tus.handle(req, res));
srv.listen(Number(port || 0), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${srv.address().port}`);
});
process.on('SIGTERM', () => srv.close(() => process.exit(0)));
