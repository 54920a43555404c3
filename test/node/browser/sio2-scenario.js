// The socket.io-client 2.x scenario run in a browser (test/sio2_test.go,
// TestSIO2Browser): window.runScenario(variant) connects to the page's
// origin with the variant's transport and resolves with what it saw, or
// rejects with what went wrong.
//
//   polling      XHR polling; the browser has XHR2, so binary goes as XHR2
//                binary payloads (application/octet-stream) both ways
//   polling-b64  XHR polling with forceBase64 (b64=1)
//   jsonp        JSONP polling (forceJSONP: script tags and form posts)
//   websocket    WebSocket only
//   upgrade      polling, then WebSocket
//
// It records the Content-Type of every XHR request body and answer, so the
// test can tell which payload format went over the wire.
(function () {
  "use strict";
  var xhrLog = [];
  var open = XMLHttpRequest.prototype.open;
  var setHeader = XMLHttpRequest.prototype.setRequestHeader;
  var send = XMLHttpRequest.prototype.send;
  XMLHttpRequest.prototype.open = function (method, url) {
    this._rec = { method: method, url: String(url), reqType: "" };
    return open.apply(this, arguments);
  };
  XMLHttpRequest.prototype.setRequestHeader = function (name, value) {
    if (this._rec && name.toLowerCase() === "content-type") this._rec.reqType = value;
    return setHeader.apply(this, arguments);
  };
  XMLHttpRequest.prototype.send = function () {
    var rec = this._rec;
    var xhr = this;
    if (rec) {
      xhrLog.push(rec);
      xhr.addEventListener("loadend", function () {
        rec.status = xhr.status;
        rec.respType = xhr.getResponseHeader("Content-Type") || "";
      });
    }
    return send.apply(this, arguments);
  };

  function opts(variant) {
    var o = { path: "/socket.io/", reconnection: false, forceNew: true };
    switch (variant) {
      case "polling": o.transports = ["polling"]; break;
      case "polling-b64": o.transports = ["polling"]; o.forceBase64 = true; break;
      case "jsonp": o.transports = ["polling"]; o.forceJSONP = true; break;
      case "websocket": o.transports = ["websocket"]; break;
      case "upgrade": o.transports = ["polling", "websocket"]; break;
      default: throw new Error("unknown variant " + variant);
    }
    return o;
  }

  // plain turns binary (ArrayBuffer, views) into {bin: [bytes]}, deeply.
  function plain(v) {
    if (v instanceof ArrayBuffer) return { bin: Array.from(new Uint8Array(v)) };
    if (ArrayBuffer.isView(v)) return { bin: Array.from(new Uint8Array(v.buffer, v.byteOffset, v.byteLength)) };
    if (Array.isArray(v)) return v.map(plain);
    if (v && typeof v === "object") {
      var o = {};
      Object.keys(v).forEach(function (k) { o[k] = plain(v[k]); });
      return o;
    }
    return v;
  }

  function same(a, b, what) {
    var x = JSON.stringify(plain(a)), y = JSON.stringify(plain(b));
    if (x !== y) throw new Error(what + ": got " + x.slice(0, 300) + ", want " + y.slice(0, 300));
  }

  function once(socket, event, ms) {
    return new Promise(function (resolve, reject) {
      var t = setTimeout(function () { reject(new Error("no " + event + " within " + ms + " ms")); }, ms);
      socket.once(event, function () {
        clearTimeout(t);
        resolve(Array.prototype.slice.call(arguments));
      });
      if (event !== "connect_error") socket.once("connect_error", function (e) {
        clearTimeout(t);
        reject(new Error("connect_error waiting for " + event + ": " + (e && e.message) + " " + (e && e.description)));
      });
    });
  }

  function ack(socket, ms, args) {
    return new Promise(function (resolve, reject) {
      var t = setTimeout(function () { reject(new Error("no ack for " + args[0])); }, ms);
      socket.emit.apply(socket, args.concat([function () {
        clearTimeout(t);
        resolve(Array.prototype.slice.call(arguments));
      }]));
    });
  }

  window.runScenario = async function (variant) {
    xhrLog.length = 0;
    var socket = io(location.origin, opts(variant));
    var auth = once(socket, "auth", 10000);
    await once(socket, "connect", 10000);
    if (variant === "upgrade" && socket.io.engine.transport.name !== "websocket") {
      await new Promise(function (resolve, reject) {
        var t = setTimeout(function () { reject(new Error("no upgrade")); }, 10000);
        socket.io.engine.once("upgrade", function () { clearTimeout(t); resolve(); });
      });
    }
    same((await auth)[0], {}, "auth of /");
    if (socket.id !== socket.io.engine.id) throw new Error("socket id " + socket.id + " is not the engine id");

    // Binary as ArrayBuffers: the 2.x client's binary detection
    // (has-binary2) does not see typed arrays in a browser, and sends them
    // as JSON objects (to the reference alike).
    var bytes = new Uint8Array(256);
    for (var i = 0; i < 256; i++) bytes[i] = i;
    var buf = function (a) { return new Uint8Array(a).buffer; };
    var cases = [
      ["text", "héllo ✓ 🚀 <&> \u2028 \n end"],
      ["binary", bytes.buffer, new ArrayBuffer(0)],
      ["nested binary", { file: buf([97, 98, 99]), list: [buf([1]), 2] }, "tail"],
    ];
    for (var c = 0; c < cases.length; c++) {
      var args = cases[c];
      var back = once(socket, "echo-back", 10000);
      var acked = await ack(socket, 10000, ["echo"].concat(args));
      same(await back, args, "echo-back of " + args[0]);
      same(acked, args, "ack of " + args[0]);
    }
    // the server asks, the client answers with binary
    socket.on("question", function () {
      var a = Array.prototype.slice.call(arguments);
      var cb = a.pop();
      cb({ got: a, blob: buf([7, 8, 9]) });
    });
    var res = await ack(socket, 10000, ["ask", { timeout: 8000 }, "q?", buf([1, 2])]);
    same(res[0], { answer: [{ got: ["q?", buf([1, 2])], blob: buf([7, 8, 9]) }] }, "server-side ack");
    // a binary broadcast to a room the socket is in
    await ack(socket, 10000, ["join", "r"]);
    var m = once(socket, "m", 10000);
    await ack(socket, 10000, ["bcast", { to: ["r"] }, "m", 1, buf([5, 6])]);
    same(await m, [1, buf([5, 6])], "binary broadcast");

    var engine = socket.io.engine;
    var out = {
      sid: socket.id,
      transport: engine.transport.name,
      supportsBinary: !!engine.transport.supportsBinary,
      jsonp: engine.transport.query.j !== undefined,
      xhr: xhrLog.map(function (r) { return { method: r.method, reqType: r.reqType, respType: r.respType, status: r.status }; }),
    };
    socket.close();
    return out;
  };
  document.getElementById("status").textContent = "ready";
})();
