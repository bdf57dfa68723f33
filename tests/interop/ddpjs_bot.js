// A bot on ddp.js (a third-party DDP client from npm): logs in, follows a stream and a
// publication, asks the server to emit events, and prints what it saw as one JSON line.
// Usage: node ddpjs_bot.js WS_URL USERNAME PASSWORD N_EVENTS   (NODE_PATH names node_modules)
"use strict";
const crypto = require("crypto");
const DDP = require("ddp.js").default;
const WebSocket = require("ws");

const [url, username, password, count] = process.argv.slice(2);
const expected = Number(count);
const ddp = new DDP({ endpoint: url, SocketConstructor: WebSocket, autoReconnect: false });
const seen = { order: [], users: [], events: [], items: [], errors: [] };
const digest = crypto.createHash("sha256").update(password).digest("hex");
let loginId = null;
let emitId = null;

function finish() {
  process.stdout.write(JSON.stringify(seen) + "\n");
  ddp.disconnect();
  process.exit(0);
}

setTimeout(() => {
  seen.errors.push("timed out");
  finish();
}, 15000).unref();

ddp.on("connected", () => {
  seen.order.push("connected");
  loginId = ddp.method("login", [{ user: { username }, password: { digest, algorithm: "sha-256" } }]);
});
ddp.on("added", (msg) => {
  seen.order.push(`added:${msg.collection}`);
  if (msg.collection === "users") seen.users.push(msg);
  if (msg.collection === "items") seen.items.push(msg.fields);
});
ddp.on("changed", (msg) => {
  if (msg.collection === "stream-room-messages") {
    seen.events.push(msg.fields);
    if (seen.events.length === expected) finish();
  }
});
ddp.on("result", (msg) => {
  if (msg.error) seen.errors.push(msg.error);
  if (msg.id === loginId) {
    seen.order.push("login-result");
    ddp.sub("items", []);
    ddp.sub("stream-room-messages", ["GENERAL", { useCollection: false, args: [] }]);
  }
});
ddp.on("ready", (msg) => {
  seen.order.push("ready");
  if (seen.order.filter((o) => o === "ready").length === 2) {
    emitId = ddp.method("emit", [expected]);
  }
});
ddp.on("nosub", (msg) => seen.errors.push(msg));
ddp.on("error", (msg) => seen.errors.push(msg));
