// threadline dashboard: progressive enhancement only. Every page works without this file.
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  var COOKIE = "tl_tz";
  var zone = "UTC";
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC"; } catch (e) { /* old browser */ }

  function cookie(name) {
    var match = document.cookie.match(new RegExp("(?:^|; )" + name + "=([^;]*)"));
    return match ? decodeURIComponent(match[1]).replace(/^"|"$/g, "") : null;
  }

  // The server draws daily charts in the viewer's timezone: tell it which one that is.
  document.querySelectorAll("input[data-tz]").forEach(function (input) { input.value = zone; });
  if (cookie(COOKIE) !== zone) {
    // IANA names are cookie-safe (letters, "/", "_", "-", "+"): stored as they are.
    document.cookie = COOKIE + "=" + zone + "; path=/dashboard; max-age=31536000; samesite=lax" +
      (location.protocol === "https:" ? "; secure" : "");
    // Once per tab: a page drawn for another zone is redrawn for this one.
    if (document.body.hasAttribute("data-signed-in") && !sessionStorage.getItem("tl_tz_reloaded")) {
      sessionStorage.setItem("tl_tz_reloaded", "1");
      location.reload();
      return;
    }
  }

  // Times arrive formatted in the viewer's zone; re-format them in the browser's own locale.
  var formats = {};
  function format(style) {
    if (!formats[style]) {
      var options = style === "date" ? { dateStyle: "medium" } : { dateStyle: "medium", timeStyle: "short" };
      options.timeZone = zone;
      formats[style] = new Intl.DateTimeFormat(undefined, options);
    }
    return formats[style];
  }
  document.querySelectorAll("time[datetime]").forEach(function (el) {
    var when = new Date(el.getAttribute("datetime"));
    if (!isNaN(when)) {
      el.title = when.toISOString();
      try { el.textContent = format(el.dataset.style || "datetime").format(when); } catch (e) { /* keep the server's */ }
    }
  });

  // Custom dates only matter with "Custom dates" chosen; picking a date chooses it.
  document.querySelectorAll("select[data-range]").forEach(function (select) {
    var form = select.form;
    function sync() { form.classList.toggle("custom-range", select.value === "custom"); }
    select.addEventListener("change", sync);
    form.querySelectorAll(".custom-date input").forEach(function (input) {
      input.addEventListener("change", function () { select.value = "custom"; sync(); });
    });
    sync();
  });

  // Filters stay open on wide screens; phones see the table first.
  if (window.matchMedia && window.matchMedia("(min-width: 900px)").matches) {
    document.querySelectorAll("details[data-filters]").forEach(function (panel) { panel.open = true; });
  }

  // Loading state: queries over long ranges can take a moment; show that something happens.
  function loading() { document.body.classList.add("loading"); }
  document.addEventListener("submit", function (event) {
    loading();
    var button = event.target.querySelector("button[type=submit]");
    if (button) { button.classList.add("busy"); }
  });
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a[href]");
    if (!link || link.hasAttribute("download") || link.target || event.ctrlKey || event.metaKey || event.shiftKey) { return; }
    if (link.origin === location.origin && link.pathname.indexOf("/dashboard") === 0) { loading(); }
  });
  window.addEventListener("pageshow", function () {
    document.body.classList.remove("loading");
    document.querySelectorAll(".busy").forEach(function (b) { b.classList.remove("busy"); });
  });
})();
