/* Hailong web chat client (the page at /chat, alone or inside the widget's iframe).
 *
 * Plain ES2017, no dependencies. Server text is only ever put in the page with
 * textContent / text nodes. The session token lives in this document (memory and
 * sessionStorage of the Hailong origin) and is never posted to the embedding page.
 */
(function () {
  "use strict";

  var API = "/api/v1/chat/sessions";
  var PING_EVERY = 25000;      // client ping while the socket is up
  var PONG_WAIT = 10000;       // no pong by then: the socket is dead
  var READY_WAIT = 8000;       // first pong after opening (the "socket works" barrier)
  var ACK_WAIT = 15000;        // no reply over the socket by then: resend over HTTP (same cid)
  var HTTP_TIMEOUT = 20000;
  var BACKOFF_MIN = 1000, BACKOFF_MAX = 30000;
  var AUTO_RETRIES = [1000, 3000]; // automatic HTTP resends before "chưa gửi được"
  var DEFAULT_MAX_LENGTH = 2000;
  var ENDED = { completed: 1, refused: 1, expired: 1 };
  var RESERVED = { flow: 1, ref: 1, embed: 1, host: 1, title: 1 };
  var CONTEXT_KEY = /^[a-z][a-z0-9_]{0,31}$/;  // what the server accepts as a context key
  var MAX_CONTEXT = 10, MAX_CONTEXT_VALUE = 200;
  var MAX_KEPT = 300;          // user bubbles kept in sessionStorage for redraw after reload

  var T = {
    title: "Hỏi đáp & khảo sát",
    sending: "đang gửi…",
    failed: "chưa gửi được — ",
    notSent: "Tin nhắn chưa gửi được. Hãy bấm “thử lại”.",
    retry: "thử lại",
    discard: "Bỏ",
    discardLabel: "Bỏ tin nhắn chưa gửi được",
    retryLabel: "Gửi lại tin nhắn này",
    me: "Bạn: ",
    bot: "Trợ lý: ",
    typing: "Trợ lý đang trả lời",
    startFailed: "Không kết nối được với máy chủ. Vui lòng kiểm tra mạng rồi thử lại.",
    tryAgain: "Thử lại",
    genericError: "Đã có lỗi xảy ra. Vui lòng thử lại sau.",
    sessionGone: "Phiên trò chuyện trước đã hết hạn. Cuộc trò chuyện mới đã được bắt đầu.",
    offline: "Không có kết nối mạng. Tin nhắn sẽ được gửi khi có mạng trở lại.",
    placeholder: "Nhập câu trả lời…",
    placeholderUnit: "Nhập tên địa phương, cơ quan…",
    placeholderPhone: "Nhập số điện thoại…",
    placeholderNumber: "Nhập một số…",
    datePlaceholder: "dd/mm/yyyy",
    dateHint: "Nhập ngày theo dạng ngày/tháng/năm, ví dụ 05/03/2024.",
    phoneHint: "Nhập số điện thoại, ví dụ 0912345678.",
    numberHint: function (min, max) {
      if (min != null && max != null) return "Nhập một số từ " + min + " đến " + max + ".";
      if (min != null) return "Nhập một số từ " + min + " trở lên.";
      if (max != null) return "Nhập một số không quá " + max + ".";
      return "Nhập một số.";
    },
    numberRange: function (min, max) { return "Vui lòng n" + T.numberHint(min, max).slice(1); },
    choiceGroup: "Các phương án trả lời",
    multiLegend: "Chọn phương án phù hợp",
    multiHint: function (min, max) {
      if (max && min && max === min) return "Chọn " + min + " phương án.";
      if (max && min > 1) return "Chọn từ " + min + " đến " + max + " phương án.";
      if (max) return "Chọn tối đa " + max + " phương án.";
      if (min > 1) return "Chọn ít nhất " + min + " phương án.";
      return "Có thể chọn nhiều phương án.";
    },
    send: "Gửi",
    typeAnswer: "Nhập câu trả lời",
    hideTyping: "Ẩn ô nhập",
    count: function (n, max) { return n + "/" + max + " ký tự"; },
    ended: {
      completed: "Cuộc khảo sát đã hoàn thành. Xin cảm ơn Ông/Bà!",
      refused: "Ông/Bà đã không tham gia khảo sát.",
      expired: "Phiên khảo sát đã hết hạn."
    },
    restart: "Bắt đầu lại",
    closeLabel: "Đóng khung trò chuyện"
  };

  // ---------------------------------------------------------------- parameters ----------

  var qs = new URLSearchParams(location.search);
  var flow = (qs.get("flow") || "").trim();
  var ref = (qs.get("ref") || "").trim();
  var title = (qs.get("title") || "").trim().slice(0, 80) || T.title;
  var embedded = qs.get("embed") === "1" && window.parent !== window;
  var hostOrigin = embedded ? checkHost(qs.get("host")) : null;
  var context = {};
  var nContext = 0;
  qs.forEach(function (value, key) {
    if (RESERVED[key] || !CONTEXT_KEY.test(key) || nContext >= MAX_CONTEXT) return;
    if (Object.prototype.hasOwnProperty.call(context, key)) return;
    context[key] = value.slice(0, MAX_CONTEXT_VALUE);
    nContext++;
  });

  /** The embedding page's origin, only if it is a plain http(s) origin that is really our parent. */
  function checkHost(raw) {
    if (!raw) return null;
    var origin;
    try {
      var u = new URL(raw);
      if (u.protocol !== "http:" && u.protocol !== "https:") return null;
      origin = u.origin;
    } catch (e) { return null; }
    var anc = location.ancestorOrigins; // Chromium/Safari: tells who really frames us
    if (anc && anc.length && anc[0] !== origin) return null;
    return origin;
  }

  // ---------------------------------------------------------------- storage ------------

  var STORE_KEY = "hailong.chat." + flow + "|" + ref;
  var memoryStore = {};
  function storeGet() {
    var raw;
    try { raw = window.sessionStorage.getItem(STORE_KEY); } catch (e) { raw = memoryStore[STORE_KEY]; }
    if (!raw) return null;
    try { return JSON.parse(raw); } catch (e) { return null; }
  }
  function storeSet(value) {
    var raw = value == null ? null : JSON.stringify(value);
    try {
      if (raw == null) window.sessionStorage.removeItem(STORE_KEY);
      else window.sessionStorage.setItem(STORE_KEY, raw);
    } catch (e) {
      if (raw == null) delete memoryStore[STORE_KEY]; else memoryStore[STORE_KEY] = raw;
    }
  }

  function newCid() {
    var c = window.crypto;
    if (c && typeof c.randomUUID === "function") {
      try { return c.randomUUID(); } catch (e) { /* insecure context */ }
    }
    var b = new Uint8Array(16);
    if (c && c.getRandomValues) c.getRandomValues(b);
    else for (var i = 0; i < 16; i++) b[i] = Math.floor(Math.random() * 256);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    var h = "";
    for (var j = 0; j < 16; j++) {
      h += (b[j] + 0x100).toString(16).slice(1);
      if (j === 3 || j === 5 || j === 7 || j === 9) h += "-";
    }
    return h;
  }

  // ---------------------------------------------------------------- elements -----------

  function $(id) { return document.getElementById(id); }
  var el = {
    title: $("hl-title"), close: $("hl-close"), status: $("hl-status"), main: $("hl-main"),
    log: $("hl-log"), live: $("hl-live"), reply: $("hl-reply"), options: $("hl-options"),
    toggle: $("hl-toggle"), form: $("hl-form"), hint: $("hl-hint"), text: $("hl-text"),
    line: $("hl-line"), send: $("hl-send"), count: $("hl-count"), ended: $("hl-ended"),
    endedText: $("hl-ended-text"), restart: $("hl-restart")
  };

  function h(tag, cls, text) {
    var n = document.createElement(tag);
    if (cls) n.className = cls;
    if (text != null) n.textContent = text;
    return n;
  }

  // ---------------------------------------------------------------- state --------------

  var S;            // everything about the current session; replaced on restart
  var gen = 0;      // bumps on restart so late answers of an old session are ignored
  function freshState() {
    return {
      gen: ++gen,
      token: null,
      starting: false,
      lastSeq: 0,
      bot: {},          // seq -> message (dedup)
      lastBot: null,    // the bot message with the highest seq
      mine: [],         // user bubbles: {cid, body, text, after, minor, state, reason}
      minor: 0,         // orders user bubbles and notices that follow the same bot message
      queue: [],        // items still to be delivered, in order
      busy: false,      // one item is being delivered
      flowState: null,
      ended: false,
      replyKey: null,
      typing: null
    };
  }

  // ---------------------------------------------------------------- message list -------

  /* Each row carries a sort key [seq, minor]: a bot message [seq, 0]; a user bubble or a
     notice [seq of the bot message it followed, n > 0]. Rows are kept in key order, so a
     late bot message still lands where it belongs. */
  function keyLess(a, b) { return a[0] < b[0] || (a[0] === b[0] && a[1] < b[1]); }
  function place(row, key) {
    row._k = key;
    var n = el.log.lastElementChild;
    while (n && n._k && keyLess(key, n._k)) n = n.previousElementSibling;
    if (n && n.nextElementSibling) el.log.insertBefore(row, n.nextElementSibling);
    else if (n) el.log.appendChild(row);
    else el.log.insertBefore(row, el.log.firstElementChild);
    return row;
  }

  var URL_RE = /\bhttps?:\/\/[^\s<>"']+[^\s<>"'.,;:!?)\]]/g;
  /** Text with line breaks kept (CSS pre-wrap) and http(s) links made clickable, no HTML parsing. */
  function fillText(node, text) {
    text = String(text == null ? "" : text);
    var last = 0, m;
    URL_RE.lastIndex = 0;
    while ((m = URL_RE.exec(text))) {
      if (m.index > last) node.appendChild(document.createTextNode(text.slice(last, m.index)));
      var a = h("a", null, m[0]);
      a.href = m[0];
      a.target = "_blank";
      a.rel = "noopener noreferrer";
      node.appendChild(a);
      last = m.index + m[0].length;
    }
    if (last < text.length) node.appendChild(document.createTextNode(text.slice(last)));
  }

  function atBottom() {
    var m = el.main;
    return m.scrollHeight - m.scrollTop - m.clientHeight < 80;
  }
  var reduceMotion = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)");
  function scrollDown(force, target) {
    if (!force && !scrollDown.stick) return;
    var m = el.main;
    var behavior = reduceMotion && reduceMotion.matches ? "auto" : "smooth";
    var top = m.scrollHeight;
    // a long bot message: show its beginning rather than its end
    if (target && target.offsetHeight > m.clientHeight * 0.8) top = target.offsetTop - 8;
    scrollDown.auto = true;
    clearTimeout(scrollDown.timer);
    scrollDown.timer = setTimeout(function () { scrollDown.auto = false; }, behavior === "smooth" ? 600 : 50);
    try { m.scrollTo({ top: top, behavior: behavior }); } catch (e) { m.scrollTop = top; }
  }
  scrollDown.stick = true;

  function addBot(msg, live) {
    var row = h("li", "hl-row hl-row-bot");
    var bubble = h("div", "hl-bubble hl-bot");
    bubble.appendChild(h("span", "hl-sr", T.bot));
    var body = h("span", "hl-text");
    fillText(body, msg.text);
    bubble.appendChild(body);
    row.appendChild(bubble);
    place(row, msg._k);
    if (live) announce(msg.text);
    return row;
  }

  function renderMine(item) {
    var row = item.row;
    if (!row) {
      row = item.row = h("li", "hl-row hl-row-me");
      var bubble = h("div", "hl-bubble hl-me");
      bubble.appendChild(h("span", "hl-sr", T.me));
      bubble.appendChild(h("span", "hl-text", item.text));
      row.appendChild(bubble);
      row.appendChild(h("div", "hl-meta"));
      place(row, [item.after, item.minor]);
    }
    var meta = row.lastChild;
    meta.textContent = "";
    row.classList.toggle("hl-pending", item.state === "pending");
    row.classList.toggle("hl-failed", item.state === "failed");
    if (item.state === "pending") {
      meta.textContent = T.sending;
    } else if (item.state === "failed") {
      meta.appendChild(h("span", null, T.failed));
      var retry = h("button", "hl-link", T.retry);
      retry.type = "button";
      retry.setAttribute("aria-label", T.retryLabel);
      retry.addEventListener("click", function () { retryItem(item); });
      meta.appendChild(retry);
      var drop = h("button", "hl-link hl-drop", T.discard);
      drop.type = "button";
      drop.setAttribute("aria-label", T.discardLabel);
      drop.addEventListener("click", function () { discardItem(item); });
      meta.appendChild(drop);
    }
  }

  function notice(text, action) {
    var row = h("li", "hl-row hl-row-note");
    var p = h("p", "hl-note", text);
    row.appendChild(p);
    if (action) {
      var b = h("button", "hl-link", action.label);
      b.type = "button";
      b.addEventListener("click", function () { if (row.parentNode) row.parentNode.removeChild(row); action.run(); });
      row.appendChild(b);
    }
    place(row, [S.lastSeq, ++S.minor]);
    announce(text);
    scrollDown(true);
    return row;
  }

  function announce(text) {
    var p = h("p", null, text);
    el.live.appendChild(p);
    while (el.live.childNodes.length > 3) el.live.removeChild(el.live.firstChild);
  }

  function showTyping(on) {
    if (on && !S.typing) {
      var row = h("li", "hl-row hl-row-bot hl-typing-row");
      row.setAttribute("aria-hidden", "true");
      var b = h("div", "hl-bubble hl-bot hl-typing");
      b.title = T.typing;
      for (var i = 0; i < 3; i++) b.appendChild(h("span", "hl-dot"));
      row.appendChild(b);
      row._k = [Infinity, 0];
      el.log.appendChild(row);
      S.typing = row;
      scrollDown(false);
    } else if (!on && S.typing) {
      if (S.typing.parentNode) S.typing.parentNode.removeChild(S.typing);
      S.typing = null;
    }
  }

  // ---------------------------------------------------------------- incoming -----------

  var unread = 0;
  var inView = true; // false while the widget panel is closed (seen through IntersectionObserver)

  function pageHidden() { return document.visibilityState === "hidden" || !inView; }

  /** Takes messages from any source (start, POST reply, catch-up GET, socket) exactly once. */
  function receive(messages, flowState, live) {
    var fresh = 0, lastRow = null;
    var list = Array.isArray(messages) ? messages.slice() : [];
    list.sort(function (a, b) { return (a && a.seq || 0) - (b && b.seq || 0); });
    var wasBottom = atBottom();
    for (var i = 0; i < list.length; i++) {
      var m = list[i];
      if (!m || typeof m !== "object") continue;
      var key;
      if (typeof m.seq === "number" && isFinite(m.seq)) {
        if (S.bot[m.seq]) continue;
        S.bot[m.seq] = m;
        if (m.seq > S.lastSeq) S.lastSeq = m.seq;
        key = [m.seq, 0];
      } else {
        key = [S.lastSeq, ++S.minor]; // tolerate a missing seq: shown once, at the end
      }
      m._k = key;
      if (m.role === "user" || m.from === "user") {
        // not in the contract today; drawn on the right if the server ever sends it
        renderMine({ cid: "srv" + key.join("."), text: m.text, after: key[0], minor: key[1], state: "sent" });
        continue;
      }
      lastRow = addBot(m, live);
      fresh++;
      if (!S.lastBot || !keyLess(key, S.lastBot._k)) S.lastBot = m;
    }
    if (flowState && typeof flowState === "object") {
      S.flowState = flowState;
      if (ENDED[flowState.status]) setEnded(flowState.status);
    }
    renderReply(); // first: the reply area's new height changes where "the bottom" is
    if (fresh) {
      showTyping(false);
      if (S.busy || S.queue.length) showTyping(true);
      scrollDown.stick = scrollDown.stick || wasBottom;
      scrollDown(live, lastRow);
      if (live && pageHidden()) { unread += fresh; postToHost({ type: "hailong:unread", count: unread }); }
    }
    return fresh;
  }

  // ---------------------------------------------------------------- outgoing -----------

  function persist() {
    if (!S.token) return;
    var kept = S.mine.filter(function (m) { return m.cid.indexOf("srv") !== 0; }).slice(-MAX_KEPT).map(function (m) {
      return { cid: m.cid, body: m.body, text: m.text, after: m.after, minor: m.minor,
               state: m.state === "sent" ? "sent" : "pending" };
    });
    storeSet({ token: S.token, mine: kept });
  }

  function submit(body, text) {
    if (!S.token || S.ended || S.queue.length) return false;
    var a = document.activeElement;
    // keyboard users stay in the reply area when it is rebuilt; a tap does not pop up a keyboard
    S.refocus = (a === el.text || a === el.line) ? "field" :
      (a && el.reply.contains(a) && focusVisible(a) ? "options" : null);
    var item = { cid: newCid(), body: body, text: text, after: S.lastSeq, minor: ++S.minor, state: "pending" };
    S.mine.push(item);
    S.queue.push(item);
    renderMine(item);
    persist();
    scrollDown.stick = true;
    scrollDown(true);
    pump();
    renderReply();
    return true;
  }

  function pump() {
    if (S.busy || !S.token || !S.queue.length) return;
    var item = S.queue[0];
    if (item.state === "failed") return; // waits for "thử lại"
    S.busy = true;
    item.tries = 0;
    showTyping(true);
    if (sock.ready) sendWs(item); else sendHttp(item);
  }

  function delivered(item) {
    if (S.queue[0] !== item) return;
    S.queue.shift();
    S.busy = false;
    item.state = "sent";
    renderMine(item);
    dropNote(item);
    persist();
    if (!S.queue.length) showTyping(false);
    pump();
    renderReply();
  }

  /** Not delivered: the bubble offers "thử lại"; the server's explanation, if any, is shown
   * under it until the item goes through or is dropped. */
  function failed(item, reason) {
    S.busy = false;
    item.state = "failed";
    showTyping(false);
    renderMine(item);
    dropNote(item);
    if (reason) item.note = notice(reason);
    else announce(T.notSent);
    renderReply();
  }

  function dropNote(item) {
    if (item.note && item.note.parentNode) item.note.parentNode.removeChild(item.note);
    item.note = null;
  }

  function retryItem(item) {
    if (item.state !== "failed") return;
    item.state = "pending";
    renderMine(item);
    pump();
    renderReply();
  }

  function discardItem(item) {
    var i = S.queue.indexOf(item);
    if (i >= 0) S.queue.splice(i, 1);
    S.mine = S.mine.filter(function (m) { return m !== item; });
    if (item.row && item.row.parentNode) item.row.parentNode.removeChild(item.row);
    dropNote(item);
    if (!i) S.busy = false;
    persist();
    catchUp(); // the server may have taken it after all: fetch whatever it answered
    pump();
    renderReply();
  }

  function sendHttp(item) {
    var g = S.gen;
    api("POST", API + "/" + encodeURIComponent(S.token) + "/messages", withCid(item)).then(function (r) {
      if (g !== S.gen || S.queue[0] !== item || item.state !== "pending") return;
      if (r.ok) {
        receive(r.data.messages, r.data.flow_state, true);
        delivered(item);
      } else if (sessionGone(r)) {
        sessionLost();
      } else if (r.network || r.status >= 500 || r.status === 429) {
        var wait = AUTO_RETRIES[item.tries++];
        if (wait != null && navigator.onLine !== false) {
          setTimeout(function () {
            if (g === S.gen && S.queue[0] === item && item.state === "pending") {
              if (sock.ready) sendWs(item); else sendHttp(item);
            }
          }, wait);
        } else {
          failed(item, r.data && r.data.message);
        }
      } else {
        failed(item, (r.data && r.data.message) || T.genericError);
      }
    });
  }

  function withCid(item) {
    var out = {};
    for (var k in item.body) if (Object.prototype.hasOwnProperty.call(item.body, k)) out[k] = item.body[k];
    out.cid = item.cid;
    return out;
  }

  /** Fetches what the server said after our last seq (after a discard, a reconnect without socket…). */
  function catchUp() {
    if (!S.token) return;
    var g = S.gen;
    api("GET", API + "/" + encodeURIComponent(S.token) + "/messages?after=" + S.lastSeq).then(function (r) {
      if (g !== S.gen) return;
      if (r.ok) receive(r.data.messages, r.data.flow_state, true);
      else if (sessionGone(r)) sessionLost();
    });
  }

  // ---------------------------------------------------------------- HTTP ---------------

  function api(method, url, body) {
    var ctrl = typeof AbortController === "function" ? new AbortController() : null;
    var timer = setTimeout(function () { if (ctrl) ctrl.abort(); }, HTTP_TIMEOUT);
    var init = { method: method, credentials: "same-origin", cache: "no-store", headers: { "Accept": "application/json" } };
    if (ctrl) init.signal = ctrl.signal;
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    return fetch(url, init).then(function (res) {
      return res.text().then(function (txt) {
        var data = null;
        try { data = txt ? JSON.parse(txt) : null; } catch (e) { data = null; }
        clearTimeout(timer);
        if (res.ok && (!data || typeof data !== "object")) return { ok: false, status: 502, data: null };
        return { ok: res.ok, status: res.status, data: data || {} };
      });
    }).catch(function () {
      clearTimeout(timer);
      return { ok: false, status: 0, network: true, data: null };
    });
  }

  function sessionGone(r) {
    var code = r.data && r.data.error;
    return (r.status === 401 || r.status === 403 || r.status === 404) &&
      (code === "session_invalid" || code === "session_expired");
  }

  // ---------------------------------------------------------------- WebSocket ----------

  var sock = { ws: null, ready: false, backoff: BACKOFF_MIN, retryTimer: 0, pingTimer: 0, pongTimer: 0,
               ackTimer: 0, inflight: null };

  function wsUrl() {
    return (location.protocol === "https:" ? "wss://" : "ws://") + location.host + API + "/" +
      encodeURIComponent(S.token) + "/ws?after=" + S.lastSeq;
  }

  function connect() {
    clearTimeout(sock.retryTimer);
    sock.retryTimer = 0;
    if (sock.ws || !S.token || S.ended || typeof WebSocket !== "function") return;
    var ws, g = S.gen;
    try { ws = new WebSocket(wsUrl()); } catch (e) { scheduleReconnect(); return; }
    sock.ws = ws;
    ws.onopen = function () {
      if (sock.ws !== ws) return;
      // The server first sends what we missed, then answers frames in order: the first pong
      // means the catch-up is behind us and the socket really works.
      rawSend(ws, { type: "ping" });
      sock.pongTimer = setTimeout(function () { drop(ws); }, READY_WAIT);
    };
    ws.onmessage = function (ev) {
      if (sock.ws !== ws || g !== S.gen) return;
      var f;
      try { f = JSON.parse(ev.data); } catch (e) { return; }
      if (!f || typeof f !== "object") return;
      if (f.type === "pong") {
        clearTimeout(sock.pongTimer);
        if (!sock.ready) {
          sock.ready = true;
          sock.backoff = BACKOFF_MIN;
          clearInterval(sock.pingTimer);
          sock.pingTimer = setInterval(function () {
            rawSend(ws, { type: "ping" });
            clearTimeout(sock.pongTimer);
            sock.pongTimer = setTimeout(function () { drop(ws); }, PONG_WAIT);
          }, PING_EVERY);
          pump();
        }
      } else if (f.type === "messages") {
        var before = S.lastSeq, item = sock.inflight;
        receive(f.messages, f.flow_state, true); // may end the flow and close this socket
        // The frame has no cid today: a frame bringing new messages answers the oldest frame
        // we sent (the server handles frames in order). A cid in the frame, if ever sent, wins.
        if (item && (f.cid ? f.cid === item.cid : S.lastSeq > before)) {
          if (sock.inflight === item) { sock.inflight = null; clearTimeout(sock.ackTimer); }
          delivered(item);
        }
      } else if (f.type === "error") {
        if (f.error === "session_invalid" || f.error === "session_expired") { sessionLost(); return; }
        var it = sock.inflight;
        if (it) {
          sock.inflight = null;
          clearTimeout(sock.ackTimer);
          failed(it, f.message || T.genericError);
        } else {
          notice(f.message || T.genericError);
        }
      }
    };
    ws.onclose = function () {
      if (sock.ws !== ws) return;
      lost();
    };
    ws.onerror = function () { /* onclose follows */ };
  }

  function rawSend(ws, obj) {
    try { ws.send(JSON.stringify(obj)); return true; } catch (e) { return false; }
  }

  function sendWs(item) {
    var ws = sock.ws;
    sock.inflight = item;
    if (!rawSend(ws, withCid(item))) { sock.inflight = null; sendHttp(item); return; }
    clearTimeout(sock.ackTimer);
    sock.ackTimer = setTimeout(function () {
      // no answer over the socket: give up on it and ask over HTTP with the SAME cid
      if (sock.inflight === item) drop(ws);
    }, ACK_WAIT);
  }

  function drop(ws) {
    if (sock.ws !== ws) return;
    try { ws.close(); } catch (e) { /* already closed */ }
    lost();
  }

  /** The socket is gone: deliver what was in flight over HTTP (same cid) and retry later. */
  /** Forget the current socket and its timers. */
  function dropSocket() {
    sock.ws = null;
    sock.ready = false;
    sock.inflight = null;
    clearInterval(sock.pingTimer);
    clearTimeout(sock.pongTimer);
    clearTimeout(sock.ackTimer);
  }

  function lost() {
    var item = sock.inflight;
    dropSocket();
    if (item && S.queue[0] === item && item.state === "pending") sendHttp(item);
    scheduleReconnect();
  }

  function scheduleReconnect() {
    if (sock.retryTimer || !S.token || S.ended) return;
    var wait = sock.backoff;
    sock.backoff = Math.min(sock.backoff * 2, BACKOFF_MAX);
    sock.retryTimer = setTimeout(function () { sock.retryTimer = 0; connect(); }, wait);
  }

  function closeSocket() {
    var ws = sock.ws;
    dropSocket();
    clearTimeout(sock.retryTimer);
    sock.retryTimer = 0;
    sock.backoff = BACKOFF_MIN;
    if (ws) { try { ws.close(); } catch (e) { /* ignore */ } }
  }

  // ---------------------------------------------------------------- sessions -----------

  function startSession() {
    var g = S.gen;
    S.starting = true;
    renderReply();
    showTyping(true);
    var body = {};
    if (flow) body.flow = flow;
    if (ref) body.ref = ref;
    if (nContext) body.context = context;
    api("POST", API, body).then(function (r) {
      if (g !== S.gen) return;
      S.starting = false;
      showTyping(false);
      if (r.ok && r.data && typeof r.data.session === "string") {
        S.token = r.data.session;
        persist();
        receive(r.data.messages, r.data.flow_state, true);
        connect();
      } else {
        var msg = r.network ? T.startFailed : ((r.data && r.data.message) || T.genericError);
        notice(msg, { label: T.tryAgain, run: startSession });
      }
      renderReply();
    });
  }

  function resume(saved) {
    var g = S.gen;
    S.token = saved.token;
    S.starting = true;
    (Array.isArray(saved.mine) ? saved.mine : []).forEach(function (m) {
      if (!m || typeof m.cid !== "string" || typeof m.text !== "string") return;
      var item = { cid: m.cid, body: m.body || { text: m.text }, text: m.text, after: +m.after || 0,
                   minor: +m.minor || 0, state: m.state === "sent" ? "sent" : "pending" };
      S.minor = Math.max(S.minor, item.minor);
      S.mine.push(item);
      renderMine(item);
      if (item.state === "pending") S.queue.push(item); // resent with the same cid: no double answer
    });
    renderReply();
    loadHistory(g);
  }

  /** Redraws the conversation of a resumed session (after=0), then goes live. */
  function loadHistory(g) {
    S.starting = true;
    showTyping(true);
    api("GET", API + "/" + encodeURIComponent(S.token) + "/messages?after=0").then(function (r) {
      if (g !== S.gen) return;
      S.starting = false;
      showTyping(false);
      if (r.ok) {
        receive(r.data.messages, r.data.flow_state, false);
        scrollDown(true);
        if (!S.ended) { connect(); pump(); }
      } else if (sessionGone(r)) {
        sessionLost();
        return;
      } else {
        notice(r.network ? T.startFailed : ((r.data && r.data.message) || T.genericError),
               { label: T.tryAgain, run: function () { loadHistory(S.gen); } });
      }
      renderReply();
    });
  }

  function sessionLost() {
    restart(true);
  }

  function restart(expired) {
    closeSocket();
    storeSet(null);
    S = freshState();
    el.log.textContent = "";
    el.live.textContent = "";
    S.replyKey = null;
    if (expired) notice(T.sessionGone);
    boot();
  }

  function boot() {
    var saved = storeGet();
    if (saved && typeof saved.token === "string" && saved.token) resume(saved);
    else startSession();
  }

  // ---------------------------------------------------------------- reply area ---------

  function setEnded(status) {
    if (S.ended) return;
    S.ended = status;
    closeSocket();
  }

  var field = el.text; // the text control in use: the textarea or the one-line input
  var fieldOpen = true;

  function renderReply() {
    el.reply.hidden = false;
    var m = S.lastBot;
    var input = (m && m.input && typeof m.input === "object") ? m.input : { type: "none" };
    var type = input.type;
    var choices = Array.isArray(input.choices) ? input.choices.filter(function (c) {
      return c && (typeof c.id === "string" || typeof c.id === "number");
    }) : [];
    if ((type === "choice" || type === "multi") && !choices.length) type = "text";
    var key = S.ended ? "ended:" + S.ended : (m ? "q:" + m.seq : "none");
    var waiting = !S.token || S.starting || S.queue.length > 0;

    if (key !== S.replyKey) {
      // keep keyboard users in the reply area when it is rebuilt (the control they used is gone)
      // (a tapped, now disabled button may still be document.activeElement: only keyboard focus counts)
      var a = document.activeElement;
      var focusWasField = a === el.text || a === el.line || S.refocus === "field";
      var focusWasInside = focusWasField || S.refocus === "options" ||
        (a && a !== document.body && el.reply.contains(a) && focusVisible(a));
      S.refocus = null;
      S.replyKey = key;
      el.options.textContent = "";
      el.hint.hidden = true;
      el.hint.textContent = "";
      if (S.ended) {
        el.options.hidden = true;
        el.toggle.hidden = true;
        el.form.hidden = true;
        el.ended.hidden = false;
        el.endedText.textContent = T.ended[S.ended] || T.ended.completed;
        if (focusWasInside) el.restart.focus();
        return;
      }
      el.ended.hidden = true;
      el.form.hidden = false;
      if (type === "choice") buildChoice(choices);
      else if (type === "multi") buildMulti(choices, input);
      el.options.hidden = !(type === "choice" || type === "multi");
      setupField(type, input);
      var hasOptions = !el.options.hidden;
      el.toggle.hidden = !hasOptions;
      setFieldOpen(!hasOptions || field.value.length > 0 || focusWasField); // typists keep typing
      // focus moves once the controls are enabled (the reply may still be "in flight" here)
      S.focusPending = focusWasInside ? (focusWasField ? "field" : "options") : null;
    }
    if (S.ended) return;
    var controls = el.options.querySelectorAll("button, input");
    for (var i = 0; i < controls.length; i++) {
      var c = controls[i];
      if (c._maxed) c.disabled = true;
      else c.disabled = waiting;
    }
    if (el.options._update) el.options._update(waiting);
    el.send.disabled = waiting;
    if (S.focusPending && !waiting) {
      var first = el.options.hidden ? null : el.options.querySelector("button:not([disabled]), input:not([disabled])");
      if (S.focusPending === "field" && fieldOpen) field.focus();
      else if (first) first.focus();
      else if (fieldOpen) field.focus();
      S.focusPending = null;
    }
    el.reply.classList.toggle("hl-waiting", waiting);
    el.reply.setAttribute("aria-busy", waiting ? "true" : "false");
  }

  function buildChoice(choices) {
    var group = h("div", "hl-choices");
    group.setAttribute("role", "group");
    group.setAttribute("aria-label", T.choiceGroup);
    var long = choices.some(function (c) { return String(c.label || c.id).length > 30; });
    if (long || choices.length > 8) group.classList.add("hl-stack");
    choices.forEach(function (c) {
      var label = String(c.label != null ? c.label : c.id);
      var b = h("button", "hl-choice", label);
      b.type = "button";
      b.addEventListener("click", function () {
        if (submit({ choice: String(c.id) }, label)) b.setAttribute("aria-pressed", "true");
      });
      group.appendChild(b);
    });
    el.options.appendChild(group);
    el.options._update = null;
  }

  function buildMulti(choices, input) {
    var min = Math.max(1, parseInt(input.min_choices, 10) || 1);
    var max = parseInt(input.max_choices, 10) || 0;
    if (max && max < min) max = min;
    var fs = h("fieldset", "hl-multi");
    var legend = h("legend", "hl-sr", T.multiLegend);
    fs.appendChild(legend);
    var hintId = "hl-multi-hint";
    var hint = h("p", "hl-hint", T.multiHint(min, max));
    hint.id = hintId;
    fs.appendChild(hint);
    var boxes = [];
    var list = h("div", "hl-checks");
    fs.appendChild(list);
    choices.forEach(function (c, i) {
      var lab = h("label", "hl-check");
      var box = document.createElement("input");
      box.type = "checkbox";
      box.value = String(c.id);
      box.id = "hl-multi-" + i;
      box.setAttribute("aria-describedby", hintId);
      box._label = String(c.label != null ? c.label : c.id);
      lab.appendChild(box);
      lab.appendChild(h("span", null, box._label));
      list.appendChild(lab);
      boxes.push(box);
    });
    var go = h("button", "hl-primary hl-multi-send", T.send);
    go.type = "submit";
    fs.appendChild(go);
    var form = h("form", "hl-multi-form");
    form.noValidate = true;
    form.appendChild(fs);
    el.options.appendChild(form);

    function picked() { return boxes.filter(function (b) { return b.checked; }); }
    function update(waiting) {
      var n = picked().length;
      boxes.forEach(function (b) {
        b._maxed = !!(max && n >= max && !b.checked);
        b.disabled = waiting || b._maxed;
        b.parentNode.classList.toggle("hl-disabled", b.disabled);
      });
      go.disabled = waiting || n < min;
    }
    el.options._update = update;
    boxes.forEach(function (b) {
      b.addEventListener("change", function () { update(isWaiting()); });
    });
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var p = picked();
      if (p.length < min || (max && p.length > max) || isWaiting()) return;
      submit({ choice: p.map(function (b) { return b.value; }) }, p.map(function (b) { return b._label; }).join("; "));
    });
    update(isWaiting());
  }

  function focusVisible(node) {
    try { return node.matches(":focus-visible"); } catch (e) { return false; }
  }

  function isWaiting() { return !S.token || S.starting || S.queue.length > 0; }

  function setupField(type, input) {
    var oneLine = type === "number" || type === "date" || type === "phone";
    var maxLen = parseInt(input.max_length, 10);
    if (!(maxLen > 0)) maxLen = DEFAULT_MAX_LENGTH;
    var next = oneLine ? el.line : el.text;
    if (next !== field && field.value && !next.value) next.value = field.value;
    if (next !== field) field.value = "";
    field = next;
    el.text.hidden = oneLine;
    el.line.hidden = !oneLine;
    $("hl-text-label").hidden = oneLine;
    $("hl-line-label").hidden = !oneLine;
    field.maxLength = maxLen;
    field._type = type;
    field._min = input.min;
    field._max = input.max;
    var hint = "";
    el.line.removeAttribute("inputmode");
    el.line.removeAttribute("autocomplete");
    el.text.placeholder = type === "unit" ? T.placeholderUnit : T.placeholder;
    if (type === "number") {
      el.line.type = "text"; // not type=number: people also type "quay lại", "hai mươi"…
      el.line.setAttribute("inputmode", "numeric");
      el.line.placeholder = T.placeholderNumber;
      hint = T.numberHint(numOrNull(input.min), numOrNull(input.max));
    } else if (type === "date") {
      el.line.type = "text";
      el.line.placeholder = T.datePlaceholder;
      hint = T.dateHint;
    } else if (type === "phone") {
      el.line.type = "tel";
      el.line.setAttribute("autocomplete", "tel");
      el.line.placeholder = T.placeholderPhone;
      hint = T.phoneHint;
    }
    el.hint.textContent = hint;
    el.hint.hidden = !hint;
    if (field === el.text) grow();
    updateCount();
  }

  function numOrNull(v) {
    if (v === null || v === undefined || v === "") return null;
    var n = Number(v);
    return isFinite(n) ? n : null;
  }

  function setFieldOpen(open) {
    fieldOpen = open;
    el.form.hidden = !open;
    el.toggle.setAttribute("aria-expanded", open ? "true" : "false");
    el.toggle.textContent = open ? T.hideTyping : T.typeAnswer;
    el.toggle.classList.toggle("hl-open", open);
  }

  function grow() {
    var t = el.text;
    t.style.height = "auto";
    t.style.height = Math.min(t.scrollHeight + 2, 160) + "px";
  }

  function updateCount() {
    var max = field.maxLength > 0 ? field.maxLength : DEFAULT_MAX_LENGTH;
    var n = field.value.length;
    var show = n >= max * 0.8;
    el.count.hidden = !show;
    el.count.textContent = show ? T.count(n, max) : "";
    el.count.classList.toggle("hl-over", n >= max);
  }

  function sendField() {
    var value = field.value.replace(/\s+$/, "");
    if (!value.trim() || isWaiting() || S.ended) return;
    if (field._type === "number" && /^-?\d+$/.test(value.trim())) {
      var n = Number(value.trim()), min = numOrNull(field._min), max = numOrNull(field._max);
      if ((min != null && n < min) || (max != null && n > max)) {
        el.hint.textContent = T.numberRange(min, max);
        el.hint.hidden = false;
        el.hint.classList.add("hl-error");
        field.setAttribute("aria-invalid", "true");
        field.focus();
        return;
      }
    }
    el.hint.classList.remove("hl-error");
    field.removeAttribute("aria-invalid");
    if (submit({ text: value }, value)) {
      field.value = "";
      if (field === el.text) grow();
      updateCount();
    }
  }

  // ---------------------------------------------------------------- host page ----------

  function postToHost(msg) {
    if (!embedded || !hostOrigin) return;
    try { window.parent.postMessage(msg, hostOrigin); } catch (e) { /* host gone */ }
  }

  function seen() {
    if (pageHidden()) return;
    if (unread) { unread = 0; postToHost({ type: "hailong:unread", count: 0 }); }
  }

  // ---------------------------------------------------------------- wiring -------------

  function wire() {
    document.title = title;
    el.title.textContent = title;
    document.documentElement.classList.toggle("hl-embedded", embedded);
    if (embedded && hostOrigin) {
      el.close.hidden = false;
      el.close.addEventListener("click", function () { postToHost({ type: "hailong:close" }); });
      document.addEventListener("keydown", function (ev) {
        if (ev.key === "Escape" && !ev.defaultPrevented && !ev.isComposing) postToHost({ type: "hailong:close" });
      });
    }

    el.form.addEventListener("submit", function (ev) { ev.preventDefault(); sendField(); });
    el.text.addEventListener("keydown", function (ev) {
      // Enter sends, Shift+Enter is a new line; never while an IME (Telex/VNI) is composing
      if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing && ev.keyCode !== 229) {
        ev.preventDefault();
        sendField();
      }
    });
    el.text.addEventListener("input", function () { grow(); updateCount(); });
    el.line.addEventListener("input", function () {
      updateCount();
      if (el.hint.classList.contains("hl-error")) {
        el.hint.classList.remove("hl-error");
        el.line.removeAttribute("aria-invalid");
      }
    });
    el.toggle.addEventListener("click", function () {
      setFieldOpen(!fieldOpen);
      if (fieldOpen) field.focus();
    });
    el.restart.addEventListener("click", function () { restart(false); });

    el.main.addEventListener("scroll", function () {
      if (!scrollDown.auto) scrollDown.stick = atBottom();
    }, { passive: true });
    // the list shrinks when the reply area grows or the phone keyboard opens: stay at the bottom
    if (typeof ResizeObserver === "function") {
      new ResizeObserver(function () {
        if (scrollDown.stick) el.main.scrollTop = el.main.scrollHeight;
      }).observe(el.main);
    }

    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "visible") {
        seen();
        // phones kill sockets in the background: come back at once, and fetch what we missed
        if (S.token && !S.ended && !sock.ws) { sock.backoff = BACKOFF_MIN; connect(); catchUp(); }
      }
    });
    window.addEventListener("online", function () {
      el.status.hidden = true;
      if (!S.token) return;
      if (!sock.ws && !S.ended) { sock.backoff = BACKOFF_MIN; connect(); }
      S.queue.forEach(function (it) { if (it.state === "failed") it.state = "pending"; renderMine(it); });
      pump();
      renderReply();
    });
    window.addEventListener("offline", function () {
      el.status.textContent = T.offline;
      el.status.hidden = false;
    });
    if (navigator.onLine === false) window.dispatchEvent(new Event("offline"));

    // Inside the widget, a closed panel hides the iframe without hiding the page: watch whether
    // the frame is on screen at all, so unread counts also work while the panel is closed.
    if (embedded && typeof IntersectionObserver === "function") {
      new IntersectionObserver(function (entries) {
        var e = entries[entries.length - 1];
        inView = e.isIntersecting || e.intersectionRatio > 0;
        seen();
      }).observe(document.documentElement);
    }
  }

  S = freshState();
  wire();
  boot();
  // tells the host the frame is alive (the widget then hides its own fallback close button)
  postToHost({ type: "hailong:unread", count: 0 });
})();
