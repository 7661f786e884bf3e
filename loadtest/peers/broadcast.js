// A plain WebSocket broadcast server: every text frame a client sends goes to every connected
// client (the sender too), like libwebsockets' lws-mirror-protocol. The peer Liaison is compared
// with in `make bench` (loadtest/bench.sh).
//
//   NODE_PATH=/usr/share/nodejs node loadtest/peers/broadcast.js PORT [HOST]
//
// Debian's node-ws package provides `ws` (apt-get install node-ws). Prints "listening PORT" when
// ready; stops on SIGTERM/SIGINT.
'use strict';
const { WebSocketServer, WebSocket } = require('ws');

const port = Number(process.argv[2] || 8090);
const host = process.argv[3] || '127.0.0.1';
const server = new WebSocketServer({ host, port, perMessageDeflate: false, clientTracking: true, maxPayload: 1 << 20 });

server.on('connection', (socket) => {
  socket.on('message', (data, isBinary) => {
    for (const client of server.clients) {
      if (client.readyState === WebSocket.OPEN) client.send(data, { binary: isBinary });
    }
  });
  socket.on('error', () => {});
});
server.on('listening', () => console.log(`listening ${port}`));

const stop = () => { server.close(); for (const c of server.clients) c.terminate(); process.exit(0); };
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
