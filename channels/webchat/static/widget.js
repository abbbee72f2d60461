/* Hailong chat widget: one tag on a ministry or province site.
 *
 *   <script src="https://HAILONG/widget.js" data-flow="sipas" data-ref="OPTIONAL_CODE"
 *           data-title="Hỏi đáp & khảo sát" async></script>
 *
 * Optional: data-position="left"; any other data-NAME="value" (NAME in a-z, 0-9, _) is passed
 * to the chat as link context, e.g. data-procedure="1.001234".
 *
 * Adds a round launcher button that opens the chat (an iframe from the Hailong origin) in a
 * panel. Everything lives in a shadow root with hl- prefixed classes, so the site's CSS and
 * ours do not touch. The session token stays inside the iframe; the two sides only exchange
 * {type:"hailong:close"} and {type:"hailong:unread", count} by postMessage, to and from the
 * exact Hailong origin. The only global is window.HailongWidget = {open(), close()}.
 */
(function () {
  "use strict";
  if (window.HailongWidget) return; // included twice: keep the first

  var SRC_RE = /\/widget\.js(?:[?#].*)?$/;
  var script = document.currentScript;
  if (!script || !SRC_RE.test(script.src || "")) {
    script = null;
    var all = document.getElementsByTagName("script");
    for (var i = all.length - 1; i >= 0; i--) {
      if (SRC_RE.test(all[i].src || "")) { script = all[i]; break; }
    }
  }
  if (!script) return;

  var ORIGIN;
  try { ORIGIN = new URL(script.src, location.href).origin; } catch (e) { return; }
  if (!/^https?:\/\//.test(ORIGIN)) return;

  var KNOWN = { flow: 1, ref: 1, title: 1, position: 1, embed: 1, host: 1 };
  var flow = script.getAttribute("data-flow") || "";
  var ref = script.getAttribute("data-ref") || "";
  var title = (script.getAttribute("data-title") || "").trim() || "Hỏi đáp & khảo sát";
  var left = (script.getAttribute("data-position") || "").toLowerCase() === "left";

  var extra = [];
  for (var a = 0; a < script.attributes.length; a++) {
    var attr = script.attributes[a];
    var m = /^data-([a-z][a-z0-9_]{0,31})$/.exec(attr.name);
    if (m && !KNOWN[m[1]] && extra.length < 10) extra.push([m[1], attr.value]);
  }

  function chatUrl(embed) {
    var p = new URLSearchParams();
    if (embed) p.set("embed", "1");
    if (flow) p.set("flow", flow);
    if (ref) p.set("ref", ref);
    p.set("title", title);
    for (var k = 0; k < extra.length; k++) p.set(extra[k][0], extra[k][1]);
    if (embed && /^https?:\/\//.test(location.origin)) p.set("host", location.origin);
    return ORIGIN + "/chat?" + p.toString();
  }

  var CSS = [
    ":host{all:initial}",
    ".hl-root{all:initial;font-family:system-ui,-apple-system,'Segoe UI',Roboto,'Noto Sans',Arial,sans-serif;",
    "font-size:16px;line-height:1.4;color:#1b2430;direction:ltr}",
    ".hl-root *,.hl-root *::before,.hl-root *::after{box-sizing:border-box}",
    ".hl-root [hidden]{display:none!important}",
    ".hl-launcher{all:unset;box-sizing:border-box;position:fixed;z-index:2147483000;bottom:20px;right:20px;",
    "width:60px;height:60px;border-radius:50%;background:#0b4f8a;color:#fff;cursor:pointer;",
    "display:flex;align-items:center;justify-content:center;box-shadow:0 4px 14px rgba(0,0,0,.28);",
    "transition:transform .15s ease,background-color .15s ease;-webkit-tap-highlight-color:transparent}",
    ".hl-left .hl-launcher{right:auto;left:20px}",
    ".hl-launcher:hover{background:#083b68;transform:scale(1.05)}",
    ".hl-launcher:focus-visible{outline:3px solid #f2a900;outline-offset:3px}",
    ".hl-launcher svg{width:28px;height:28px;display:block;fill:none;stroke:currentColor;stroke-width:2;",
    "stroke-linecap:round;stroke-linejoin:round}",
    ".hl-icon-close{display:none!important}",
    ".hl-open .hl-icon-chat{display:none!important}",
    ".hl-open .hl-icon-close{display:block!important}",
    ".hl-badge{position:absolute;top:-4px;right:-4px;min-width:22px;height:22px;padding:0 6px;border-radius:11px;",
    "background:#c62828;color:#fff;font:700 12px/22px system-ui,-apple-system,'Segoe UI',Roboto,Arial,sans-serif;",
    "text-align:center;box-shadow:0 0 0 2px #fff}",
    ".hl-panel{position:fixed;z-index:2147483001;bottom:92px;right:20px;width:380px;height:600px;",
    "max-height:calc(100vh - 112px);max-width:calc(100vw - 40px);border-radius:14px;overflow:hidden;",
    "background:linear-gradient(#0b4f8a 0 56px,#fff 56px);box-shadow:0 12px 40px rgba(0,0,0,.3)}",
    ".hl-left .hl-panel{right:auto;left:20px}",
    ".hl-frame{display:block;width:100%;height:100%;border:0;margin:0;padding:0;background:transparent;color-scheme:normal}",
    ".hl-fallback-close{all:unset;box-sizing:border-box;position:absolute;top:6px;right:6px;width:44px;height:44px;",
    "border-radius:10px;display:flex;align-items:center;justify-content:center;color:#fff;background:#0b4f8a;cursor:pointer}",
    ".hl-fallback-close:focus-visible{outline:3px solid #f2a900;outline-offset:-3px}",
    ".hl-fallback-close svg{width:22px;height:22px;fill:none;stroke:currentColor;stroke-width:2.4;stroke-linecap:round}",
    "@media (max-width:599px){",
    ".hl-panel{top:0;left:0!important;right:0!important;bottom:0;width:auto;height:auto;max-width:none;",
    "max-height:none;border-radius:0}",
    ".hl-open .hl-launcher{display:none}",
    ".hl-launcher{bottom:16px;right:16px}.hl-left .hl-launcher{left:16px}}",
    "@media (prefers-reduced-motion:reduce){.hl-launcher{transition:none}.hl-launcher:hover{transform:none}}",
    "@media (forced-colors:active){.hl-launcher,.hl-fallback-close{border:2px solid ButtonText}}"
  ].join("");

  var SVG_NS = "http://www.w3.org/2000/svg";
  function svg(cls, paths) {
    var s = document.createElementNS(SVG_NS, "svg");
    s.setAttribute("viewBox", "0 0 24 24");
    s.setAttribute("aria-hidden", "true");
    s.setAttribute("focusable", "false");
    if (cls) s.setAttribute("class", cls);
    for (var p = 0; p < paths.length; p++) {
      var path = document.createElementNS(SVG_NS, "path");
      path.setAttribute("d", paths[p]);
      s.appendChild(path);
    }
    return s;
  }
  var CHAT = ["M21 12a8 8 0 0 1-11.6 7.1L4 20.5l1.4-4.9A8 8 0 1 1 21 12z", "M8.5 12h.01M12 12h.01M15.5 12h.01"];
  var CROSS = ["M6 6l12 12M18 6L6 18"];

  var hostEl, root, launcher, badge, panel, frame, fallbackClose;
  var isOpen = false, alive = false, unread = 0;

  function el(tag, cls) {
    var n = document.createElement(tag);
    if (cls) n.className = cls;
    return n;
  }

  function build() {
    if (hostEl) return;
    hostEl = document.createElement("hailong-widget");
    // CSSOM, not a style attribute: allowed by the host page's CSP
    hostEl.style.setProperty("all", "initial", "important");
    hostEl.style.setProperty("display", "block", "important");
    var shadow = hostEl.attachShadow({ mode: "open" });
    var sheetDone = false;
    try {
      var sheet = new CSSStyleSheet();
      sheet.replaceSync(CSS);
      shadow.adoptedStyleSheets = [sheet];
      sheetDone = true;
    } catch (e) { /* older engines: fall back to a <style> element */ }
    if (!sheetDone) {
      var style = el("style");
      style.textContent = CSS;
      shadow.appendChild(style);
    }

    root = el("div", "hl-root" + (left ? " hl-left" : ""));
    root.setAttribute("lang", "vi");

    panel = el("div", "hl-panel");
    panel.id = "hl-panel";
    panel.hidden = true;
    panel.setAttribute("role", "dialog");
    panel.setAttribute("aria-label", title);

    fallbackClose = el("button", "hl-fallback-close");
    fallbackClose.type = "button";
    fallbackClose.setAttribute("aria-label", "Đóng khung trò chuyện");
    fallbackClose.title = "Đóng";
    fallbackClose.appendChild(svg("", CROSS));
    fallbackClose.addEventListener("click", close);

    launcher = el("button", "hl-launcher");
    launcher.type = "button";
    launcher.setAttribute("aria-controls", "hl-panel");
    launcher.setAttribute("aria-expanded", "false");
    launcher.appendChild(svg("hl-icon-chat", CHAT));
    launcher.appendChild(svg("hl-icon-close", CROSS));
    badge = el("span", "hl-badge");
    badge.hidden = true;
    badge.setAttribute("aria-hidden", "true");
    launcher.appendChild(badge);
    launcher.addEventListener("click", function () { if (isOpen) close(); else open(); });
    label();

    root.appendChild(panel);
    root.appendChild(launcher);
    shadow.appendChild(root);

    root.addEventListener("keydown", function (ev) {
      if (ev.key === "Escape" && isOpen) { ev.stopPropagation(); close(); }
    });
    window.addEventListener("message", onMessage);
    (document.body || document.documentElement).appendChild(hostEl);
  }

  function label() {
    var text = (isOpen ? "Đóng: " : "Mở: ") + title;
    if (unread > 0) text += " (" + unread + " tin nhắn mới)";
    launcher.setAttribute("aria-label", text);
    launcher.title = isOpen ? "Đóng" : title;
  }

  function setUnread(n) {
    unread = n;
    badge.textContent = n > 99 ? "99+" : String(n);
    badge.hidden = !(n > 0);
    label();
  }

  function onMessage(ev) {
    if (ev.origin !== ORIGIN || !frame || ev.source !== frame.contentWindow) return;
    var d = ev.data;
    if (!d || typeof d !== "object" || typeof d.type !== "string") return;
    if (!alive) { alive = true; fallbackClose.hidden = true; } // the chat page shows its own close button
    if (d.type === "hailong:close") {
      close();
    } else if (d.type === "hailong:unread") {
      var n = Math.floor(Number(d.count));
      setUnread(isFinite(n) && n > 0 ? Math.min(n, 999) : 0);
    }
  }

  /** A host page without a responsive viewport is drawn ~980px wide on a phone: a panel there would
   * be tiny, so phones on such pages get the full chat page in a new tab instead. */
  function smallScreenWithoutViewport() {
    var vp = document.querySelector('meta[name="viewport"]');
    var responsive = vp && /width\s*=\s*device-width/i.test(vp.getAttribute("content") || "");
    return !responsive && Math.min(screen.width, screen.height) < 600;
  }

  function open() {
    build();
    if (isOpen) return;
    if (smallScreenWithoutViewport()) {
      window.open(chatUrl(false), "_blank", "noopener");
      return;
    }
    if (!frame) {
      frame = el("iframe", "hl-frame");
      frame.title = title;
      frame.src = chatUrl(true);
      frame.setAttribute("referrerpolicy", "strict-origin-when-cross-origin");
      frame.setAttribute("allow", "clipboard-write");
      panel.appendChild(fallbackClose);
      panel.appendChild(frame);
    }
    isOpen = true;
    panel.hidden = false;
    root.classList.add("hl-open");
    launcher.setAttribute("aria-expanded", "true");
    label();
    try { frame.focus(); } catch (e) { /* ignore */ }
  }

  function close() {
    if (!isOpen) return;
    var hadFocus = document.activeElement === hostEl;
    isOpen = false;
    panel.hidden = true;
    root.classList.remove("hl-open");
    launcher.setAttribute("aria-expanded", "false");
    label();
    if (hadFocus || document.activeElement === document.body) launcher.focus();
  }

  var api = { open: open, close: close };
  if (Object.freeze) Object.freeze(api);
  window.HailongWidget = api;

  if (document.body) build();
  else document.addEventListener("DOMContentLoaded", build);
})();
